"""`nanoemox demo run`: the demo recipe through `nanoemox reproduce`, on a generated corpus (tiny preset, CPU).

corpus -> check -> extract (Ray Data) -> train P2E phases 1, 2, 3 -> score the held-out test splits -> eval ->
report, ending with each task's held-out score beside its chance level. Re-running it on the same folder resumes;
`fresh` starts over.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from nanoemox.config import load_config
from nanoemox.demo.corpus import make_corpus
from nanoemox.errors import NanoEmoXError
from nanoemox.eval.chance import chance_level
from nanoemox.fileio.files import read_json
from nanoemox.reproduce.execute import Where
from nanoemox.reproduce.plan import open_experiment
from nanoemox.reproduce.recipe import load_recipe
from nanoemox.reproduce.runner import outcomes_table, run_experiment, selector

HELD_OUT_METRIC = {"mer": "accuracy", "mir": "acc", "erg": "emotion_acc"}  # the demo's classification scores


def corpus(out: Path, scale: float) -> tuple[dict[str, Path], bool]:
    """The generated corpus in `out`, written once per scale (the same seed gives the same bytes); whether it was
    written now."""
    made = out / "corpus.json"
    record = read_json(made, "demo corpus record") if made.is_file() else {}
    if record.get("scale") == scale:
        return {name: Path(root) for name, root in record["roots"].items()}, False
    shutil.rmtree(out, ignore_errors=True)
    roots = make_corpus(out, scale)
    made.write_text(json.dumps({"scale": scale, "roots": {name: str(root) for name, root in roots.items()}}))
    return roots, True


def demo_overrides(roots: dict[str, Path], steps_scale: float) -> list[str]:
    """The corpus as the config's dataset roots, and the demo recipe's phase lengths times `steps_scale`."""
    overrides = [f"datasets.{name}={root}" for name, root in roots.items()]
    if steps_scale != 1.0:
        recipe = load_recipe("demo")
        phases = load_config(preset=recipe.preset, overrides=recipe.overrides).train.phases
        overrides += [f"train.phases.{k}.steps={max(2, round(p.steps * steps_scale))}" for k, p in phases.items()]
    return overrides


def run_demo(
    out: str | Path, scale: float = 1.0, steps_scale: float = 1.0, fresh: bool = False, overrides: Sequence[str] = ()
) -> dict:
    out = Path(out)
    started = time.perf_counter()
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    print("== the corpus: mp4 clips with audio in MELD / MIntRec / AvaMERG / MER-Caption+ formats", flush=True)
    roots, new_corpus = corpus(out / "corpus", scale)
    experiment = open_experiment(out, "demo", overrides=[*demo_overrides(roots, steps_scale), *overrides])
    # outputs of another corpus, or of a demo older than its recipe, cannot be resumed: they are made again
    outdated = new_corpus or not experiment.state_dir.is_dir()
    outcomes = run_experiment(experiment, selector([], []), Where(device="cpu"), fresh=outdated)
    print("\n" + outcomes_table(outcomes))
    unfinished = [o for o in outcomes if o.result not in ("ran", "done already")]
    if unfinished:
        raise NanoEmoXError(f"demo: {unfinished[0].step.id} {unfinished[0].result}: {unfinished[0].detail}")

    summary: dict = {"tasks": {}}
    for bench in experiment.recipe.benchmarks:
        result = read_json(experiment.run.eval_result(bench.dataset, bench.split), "eval result")
        for task in bench.tasks:
            summary["tasks"][task] = {
                "dataset": bench.dataset,
                "metric": HELD_OUT_METRIC[task],
                "score": result["tasks"][task][HELD_OUT_METRIC[task]],
                "chance": chance_level(bench.dataset, str(roots[bench.dataset]), bench.split, task),
            }
    summary["seconds"] = round(time.perf_counter() - started, 1)
    report = Path(experiment.report)
    (report / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\n{'task':<6} {'dataset':<10} {'metric':<12} {'held-out':>9} {'chance':>7}")
    for task, entry in summary["tasks"].items():
        print(f"{task:<6} {entry['dataset']:<10} {entry['metric']:<12} {entry['score']:>9.3f} {entry['chance']:>7.3f}")
    done = sum(o.result == "done already" for o in outcomes)
    steps = f"{done} of {len(outcomes)} steps done already"
    print(f"\ndemo finished in {summary['seconds']:.0f} s ({steps}); report in {report}")
    print(f"its steps: nanoemox reproduce status --out {out}")
    return summary
