"""`nanoemox demo run`: the real pipeline end to end on the generated corpus, tiny preset, CPU, in one process.

corpus -> extract (Ray Data) -> train P2E phases 1, 2, 3 -> score the held-out test splits -> eval -> report,
ending with each task's held-out score beside its chance level.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

from nanoemox.config import PipelineConfig, load_config, save_config
from nanoemox.datasets import open_dataset
from nanoemox.demo.corpus import make_corpus
from nanoemox.eval.benchmark import evaluate, result_lines
from nanoemox.eval.erg import last_turns
from nanoemox.eval.report import write_report
from nanoemox.extract.job import ExtractOptions, run_extract, total_line
from nanoemox.score.job import score_in_process
from nanoemox.train.loop import Distributed, check_stage_inputs, train_stage
from nanoemox.train.stages import plan_stages

MIX = {  # the paper's phase-3 weights; each demo dataset feeds the tasks it has
    "1-speech": "{mer: [meld]}",
    "1-visual": "{mer: [meld]}",
    "2": "{mir: [mintrec]}",
    "3": "{mer: [meld, avamerg], ov-mer: [mer-caption+], mir: [mintrec], eri: [mer-caption+], erg: [avamerg]}",
}
STEPS = {"1-speech": 60, "1-visual": 60, "2": 150, "3": 1500}
HELD_OUT = [  # (dataset, task, metric): the classification tasks the demo reports
    ("meld", "mer", "accuracy"),
    ("mintrec", "mir", "acc"),
    ("avamerg", "erg", "emotion_acc"),
]


def demo_config(roots: dict[str, Path], steps_scale: float) -> PipelineConfig:
    overrides = [f"train.phases.{phase}.datasets={mix}" for phase, mix in MIX.items()]
    overrides += [f"train.phases.{phase}.steps={max(2, round(n * steps_scale))}" for phase, n in STEPS.items()]
    overrides += [f"datasets.{name}={root}" for name, root in roots.items()]
    overrides += ["train.log_every=20", "train.save_every=1000", "train.eval_every=1000"]
    overrides += ["score.unibench_question=candidates"]  # the demo trains and reports MELD's candidate-list MER
    return load_config(preset="tiny", overrides=overrides)


def chance(dataset: str, root: Path, task: str) -> float:
    """The majority class's share of the held-out split (ERG: its last turns): what always guessing it scores."""
    records = list(open_dataset(dataset, root).read("test"))
    if task == "erg":  # E3RG scores each dialogue's last turn
        scored = last_turns(r.id for r in records)
        records = [r for r in records if r.id in scored]
    labels = [r.labels for r in records]
    values = [lab.intent if task == "mir" else lab.emotion for lab in labels]
    return max(Counter(values).values()) / len(values)


def banner(step: int, text: str) -> None:
    print(f"\n== {step}/6 {text}", flush=True)


def run_demo(out: str | Path, scale: float = 1.0, steps_scale: float = 1.0) -> dict:
    out = Path(out)
    started = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    banner(1, "make the corpus (mp4 clips with audio, MELD / MIntRec / AvaMERG / MER-Caption+ formats)")
    roots = make_corpus(out / "corpus", scale)
    cfg = demo_config(roots, steps_scale)
    shards, run = out / "shards", out / "heads" / "p2e"
    save_config(cfg, out)

    banner(2, "nanoemox-extract: decode once, faces, frozen encoders once -> shards")
    summaries = run_extract(cfg, *(ExtractOptions(name, str(root), str(shards)) for name, root in roots.items()))
    print("\n".join(s.line() for s in summaries) + "\n" + total_line(summaries), flush=True)

    banner(3, "nanoemox-train: P2E phases 1 (speech, visual), 2 (intent), 3 (all tasks + LoRA)")
    stages = plan_stages(cfg, "p2e")
    for stage in stages:
        check_stage_inputs(cfg, stage, shards, run, {s.name for s in stages})
    for stage in stages:
        print(train_stage(cfg, stage, shards, run, False, Distributed()).line(), flush=True)

    banner(4, "nanoemox-score: generate answers for the held-out test splits")
    for dataset, task, _ in HELD_OUT:
        predictions = run / "predictions" / f"{dataset}-test.jsonl"
        predictions.parent.mkdir(parents=True, exist_ok=True)
        print(score_in_process(cfg, run / "phase3", shards / dataset / "test", [task], predictions, "cpu").line())

    banner(5, "nanoemox-eval: metrics against the datasets' own labels")
    summary: dict = {"tasks": {}}
    for dataset, task, metric in HELD_OUT:
        result = evaluate(run / "predictions" / f"{dataset}-test.jsonl", dataset, str(roots[dataset]), "test", cfg.eval)
        (run / "eval").mkdir(exist_ok=True)
        (run / "eval" / f"{dataset}-test.json").write_text(json.dumps(result, indent=1))
        print("\n".join(result_lines(result)), flush=True)
        score = result["tasks"][task][metric]
        summary["tasks"][task] = {
            "dataset": dataset,
            "metric": metric,
            "score": score,
            "chance": chance(dataset, roots[dataset], task),
        }

    banner(6, "nanoemox-eval report")
    chances = {(entry["dataset"], task): entry["chance"] for task, entry in summary["tasks"].items()}
    report = Path(write_report(run, out / "report", chance=chances))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (report / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\n{'task':<6} {'dataset':<10} {'metric':<12} {'held-out':>9} {'chance':>7}")
    for task, entry in summary["tasks"].items():
        print(f"{task:<6} {entry['dataset']:<10} {entry['metric']:<12} {entry['score']:>9.3f} {entry['chance']:>7.3f}")
    print(f"\ndemo finished in {summary['seconds']:.0f} s; report in {report}")
    return summary
