"""nanoemox-eval under the protocols behind the paper's tables: MMLA for MIR, MER-UniBench's LLM extraction."""

import json
from pathlib import Path

import pytest

from nanoemox.cli.eval import main as eval_main

from conftest import LLM_KEY_ENV
from helpers import write_meld_corpus

# (model output, MIntRec label). MMLA's own clean() + cal_metrics() (src/Zero-shot_Inference/eval.py, run on a
# fetched copy) read these as arrange, inform, multi, thank, unknown, ask for help, unknown, joke, criticize,
# unknown, care, agree and score ACC 66.67, WF1 69.44, WP 75.00, macro F1 58.97, P 61.54, R 57.69.
MIR_CASES = [
    ("intent: arrange", "Arrange"),
    ("Inform.", "Inform"),
    ("The speaker wants to complain and taunt.", "Complain"),
    ("Thank you so much", "Thank"),
    ("thanks", "Thank"),
    ("The intent is: Ask for help", "Ask for help"),
    ("hello there", "Greet"),
    ("joke", "Joke"),
    ("criticize", "Criticize"),
    ("praising", "Praise"),
    ("care", "Care"),
    ("agree", "Agree"),
]
MMLA = {"acc": 66.67, "wf1": 69.44, "wp": 75.00, "f1": 58.97, "precision": 61.54, "recall": 57.69}


def mintrec_corpus(root: Path) -> Path:
    root.mkdir(parents=True)
    lines = ["season\tepisode\tclip\ttext\tlabel"]
    lines += [f"S01\tE01\t{i}\tline {i}\t{label}" for i, (_, label) in enumerate(MIR_CASES)]
    (root / "test.tsv").write_text("\n".join(lines) + "\n")
    return root


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_mir_outputs_only_score_as_mmla_scores_them(tmp_path):
    corpus = mintrec_corpus(tmp_path / "mintrec")
    rows = [{"id": f"S01_E01_{i}", "task": "mir", "output": output} for i, (output, _) in enumerate(MIR_CASES)]
    predictions = write_rows(tmp_path / "mir.jsonl", rows)
    argv = ["--predictions", str(predictions), "--dataset", "mintrec", "--root", str(corpus)]
    assert eval_main(argv) == 0
    scores = json.loads((tmp_path / "mir.eval.json").read_text())["tasks"]["mir"]
    for metric, value in MMLA.items():
        assert 100 * scores[metric] == pytest.approx(value, abs=0.005), metric
    assert scores["n_read_from_output"] == 12 and scores["protocol"].startswith("MMLA")
    # a parsed answer is used as given, unless --reparse reads the output again
    rows[-1]["answer"] = "oppose"
    write_rows(predictions, rows)
    assert eval_main(argv) == 0
    assert json.loads((tmp_path / "mir.eval.json").read_text())["tasks"]["mir"]["acc"] == pytest.approx(7 / 12)
    assert eval_main([*argv, "--reparse"]) == 0
    assert json.loads((tmp_path / "mir.eval.json").read_text())["tasks"]["mir"]["acc"] == pytest.approx(8 / 12)


@pytest.fixture
def meld_open(tmp_path) -> tuple[Path, Path]:
    """Four MELD clips (joy, joy, anger, sadness) answered with the open-vocabulary question."""
    clips = [{"emotion": emotion, "file": "x"} for emotion in ("joy", "joy", "anger", "sadness")]
    corpus = write_meld_corpus(tmp_path / "meld", clips)
    outputs = ["She is delighted.", "He beams.", "He shouts.", "She weeps."]
    rows = [{"id": f"dia{i}_utt0", "task": "mer", "prompt_id": "ov-mer", "output": o} for i, o in enumerate(outputs)]
    return corpus, write_rows(tmp_path / "meld.jsonl", rows)


def test_mer_unibench_extraction_repeats_runs_with_the_published_settings(llm_servers, meld_open, tmp_path):
    corpus, predictions = meld_open
    server = llm_servers()
    runs = {  # output -> its reading in run 1 and run 2 (run 1: 4 of 4 right; run 2: 2 of 4)
        "She is delighted.": ["[joy]", "[joy]"],
        "He beams.": ["[joy]", "[surprise]"],
        "He shouts.": ["[anger]", "[anger]"],
        "She weeps.": ["[sadness]", "[fear]"],
    }
    server.responder = lambda prompt: next(runs[o].pop(0) for o in runs if f"Input: {o};" in prompt)
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus), "--extractor-runs", "2"]
    assert eval_main([*argv, "--extractor-url", server.url, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]) == 0
    scores = json.loads((tmp_path / "meld.eval.json").read_text())["tasks"]["mer"]
    assert scores["accuracy"] == pytest.approx(0.75) and scores["accuracy_std"] == pytest.approx(0.3535534)
    assert [run["accuracy"] for run in scores["runs"]] == [1.0, 0.5] and scores["extractor_runs"] == 2
    body = next(r["body"] for r in server.requests if "Input: She is delighted.; Output: " in str(r["body"]))
    assert (body["model"], body["temperature"], body["top_p"], body["repetition_penalty"], body["max_tokens"]) == (
        "Qwen2.5-7B-Instruct",
        0.7,
        0.8,
        1.05,
        512,
    )
    assert body["messages"][0]["content"].endswith("Input: She is delighted.; Output: ")
    assert scores["extractor"]["model"] == "Qwen2.5-7B-Instruct" and scores["extractor"]["top_p"] == 0.8
    assert scores["protocol"].startswith("MER-UniBench: open question, labels extracted by Qwen2.5-7B-Instruct")


def test_without_an_extractor_our_parser_stands_in_and_says_so(meld_open, tmp_path):
    corpus, predictions = meld_open
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    assert eval_main(argv) == 0
    scores = json.loads((tmp_path / "meld.eval.json").read_text())["tasks"]["mer"]
    assert "our parser stands in for MER-UniBench's LLM extractor" in scores["protocol"]
    assert "extractor" not in scores and "accuracy_std" not in scores
    rows = [json.loads(line) | {"prompt_id": "mer-candidates"} for line in predictions.read_text().splitlines()]
    write_rows(predictions, rows)
    assert eval_main(argv) == 0
    protocol = json.loads((tmp_path / "meld.eval.json").read_text())["tasks"]["mer"]["protocol"]
    assert protocol == "candidate-list question, labels read by the nanoemox parser"


def test_eri_reports_the_mean_and_records_the_judge(llm_servers, tmp_path):
    root = tmp_path / "emer"
    root.mkdir()
    rows = ["names,emotions,subtitles,reasons", "s1,happy,Great!,He smiles widely.", "s2,sad,Oh.,She looks down."]
    (root / "gt-eng.csv").write_text("\n".join(rows) + "\n")
    predictions = write_rows(
        tmp_path / "eri.jsonl",
        [{"id": "s1", "task": "eri", "output": "He grins."}, {"id": "s2", "task": "eri", "output": "She cries."}],
    )
    server = llm_servers()
    # the published evaluation's Chinese prompts: the clue prompt names the 《真实描述》; replies in its format
    server.responder = lambda prompt: "'预测分数'：8；'原因'：接近" if "《真实描述》" in prompt else "'预测分数'：5"
    argv = ["--predictions", str(predictions), "--dataset", "emer", "--root", str(root), "--judge-url", server.url]
    assert eval_main([*argv, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]) == 0
    scores = json.loads((tmp_path / "eri.eval.json").read_text())["tasks"]["eri"]
    assert (scores["clue_overlap"], scores["label_overlap"], scores["mean"]) == (8.0, 5.0, 6.5)
    judge = scores["judge"]
    assert (judge["model"], judge["temperature"], judge["prompts"], judge["prompt_version"]) == (
        "gpt-3.5-turbo-0125",
        0.0,
        "published",
        "eval_ovmerd-zh-v1",
    )
    assert any("《预测描述》：He grins." in r["body"]["messages"][0]["content"] for r in server.requests)
    assert {request["body"]["temperature"] for request in server.requests} == {0.0}
    assert "gpt-3.5-turbo-0125" in scores["protocol"] and "temperature 0.0" in scores["protocol"]
