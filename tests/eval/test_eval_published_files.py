"""Other systems' outputs as the published evaluation stores them (Nano-EmoX `eval_ovmerd.py` for ERI,
MER-UniBench for MER / OV-MER), scored with `nanoemox-eval eri|mer|ov-mer --gt --pred`. The files are written
here in those layouts; expected numbers follow the published loop's rules (common names, first number of a reply)."""

import json
import re

import pytest

from nanoemox.cli.common import run
from nanoemox.cli.eval import main as eval_main

from conftest import LLM_KEY_ENV

GT_ERI = (  # gt-eng.csv: names,emotions,subtitles,reasons; reasons quoted over several lines
    "names,emotions,subtitles,reasons\n"
    's1,angry,Stop!,"In the video, he roared.\nHe said ""stop!"" loudly. Therefore he is angry."\n'
    's2,happy,Great.,"She smiles, relaxed.\nTherefore she is happy."\n'
    "s3,sad,Oh.,He sighs.\n"
)
PRED_ERI = (  # a system's file: names,pred_label,chi_reasons (pred_label left empty, as published)
    "names,pred_label,chi_reasons\n"
    's1,,"<think>He shouts ""enough"",\nclearly angry.</think>\n<answer>angry</answer>"\n'
    's2,,"She looks calm\nand composed."\n'
    "s9,,A clip the ground truth does not have.\n"
)


def after(prompt: str, marker: str) -> str:
    return prompt.rsplit(marker, 1)[1].split("\n输出")[0]


def published_judge(prompt: str) -> str:
    """Replies to the published Chinese prompts, in the judge's loose formats."""
    if "《预测描述》" in prompt:  # clue overlap: 8 when the prediction says angry, else 5 ("5分": first number)
        return (
            "'预测分数'：8；'原因'：相近" if "angry" in after(prompt, "《预测描述》：") else "预测分数：5分。原因：部分"
        )
    if "《预测情感》" in prompt:  # label overlap: 10 for the same emotion, else 4
        same = after(prompt, "《真实情感》：").split("\n")[0] == after(prompt, "《预测情感》：")
        return "'预测分数'：10；'原因'：一致" if same else "'预测分数'：4；'原因'：不同"
    reason = after(prompt, "视频描述：")
    return "生气" if "angry" in reason else "高兴" if "happy" in reason else "平静"


@pytest.fixture
def judge(llm_servers):
    server = llm_servers()
    server.responder = published_judge
    return server


def eri_args(tmp_path, judge, pred_text: str) -> list[str]:
    (tmp_path / "gt-eng.csv").write_text(GT_ERI)
    pred = tmp_path / "system" / "system.csv"
    pred.parent.mkdir(exist_ok=True)
    pred.write_text(pred_text)
    argv = ["eri", "--gt", str(tmp_path / "gt-eng.csv"), "--pred", str(pred), "--judge-url", judge.url]
    return [*argv, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]


def test_eri_judges_the_published_layout_on_common_names(judge, tmp_path, capsys):
    assert eval_main([*eri_args(tmp_path, judge, PRED_ERI), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # s1: clue 8, label angry/angry 10; s2: clue 5, label happy/calm 4; s3 and s9 are in one file only
    assert (result["clue_overlap"], result["label_overlap"], result["mean"]) == (6.5, 7.0, 6.75)
    assert result["items"] == [
        {"id": "s1", "clue_overlap": 8.0, "label_overlap": 10.0},
        {"id": "s2", "clue_overlap": 5.0, "label_overlap": 4.0},
    ]
    assert result["n"] == 2 and result["left_out"] == {"ground_truth": 1, "predictions": 1}
    assert result["warnings"] == [
        "gt-eng.csv: 1 name(s) without a prediction, left out: s3",
        "system.csv: 1 name(s) not in the ground truth, left out: s9",
    ]
    assert result["judge"]["prompt_version"] == "eval_ovmerd-zh-v1" and result["failed"] == []
    assert result["llm"] == {"calls": 2 + 4 + 2, "cached": 0, "failed": 0}
    sent = [request["body"]["messages"][0]["content"] for request in judge.requests]
    assert any('《真实描述》：In the video, he roared.\nHe said "stop!" loudly.' in text for text in sent)
    assert any('《预测描述》：<think>He shouts "enough",\nclearly angry.</think>' in text for text in sent)


def test_eri_reads_name_reason_predictions_and_prints_what_was_left_out(judge, tmp_path, capsys):
    pred = 'name,reason\ns2,"She looks calm\nand composed."\ns1,He is clearly angry.\n'
    assert eval_main(eri_args(tmp_path, judge, pred)) == 0
    captured = capsys.readouterr()
    assert "clue_overlap=6.5 " in captured.out and "label_overlap=7.0 " in captured.out
    assert "mean=6.75" in captured.out
    assert "left_out: ground_truth 1, predictions 0" in captured.out
    assert "llm: calls 8, cached 0, failed 0" in captured.out
    assert "warning: gt-eng.csv: 1 name(s) without a prediction, left out: s3" in captured.err


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        ("names,pred_label\ns1,angry\n", r"system\.csv: missing column\(s\) chi_reasons or reasons or reason"),
        ("names,chi_reasons\nzz,x\n", r"system\.csv: no name in common with .*gt-eng\.csv"),
        ('names,chi_reasons\ns1,"open quote\n', r"system\.csv, line 2: unexpected end of data"),
    ],
)
def test_eri_bad_prediction_files_are_one_clear_line(judge, tmp_path, capsys, pred, message):
    assert run(eval_main, eri_args(tmp_path, judge, pred)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err


def test_eri_needs_a_judge(tmp_path, capsys):
    (tmp_path / "gt.csv").write_text(GT_ERI)
    argv = ["eri", "--gt", str(tmp_path / "gt.csv"), "--pred", str(tmp_path / "gt.csv")]
    assert run(eval_main, argv) == 2
    assert "eri needs an LLM judge: pass --judge-url" in capsys.readouterr().err


@pytest.fixture
def wheel_dir(reference):
    return reference / "emotion_wheel"


MER_GT = "names,emotions,subtitles,reasons\na,happy,x,y\nb,worried,x,y\nc,neutral,x,y\nd,surprise,x,y\n"
MER_PRED = (  # a system's free-text answers, no labels
    "names,pred_label,chi_reasons\n"
    'a,,"He grins and jumps:\nclearly thrilled."\nb,,She cries.\nc,,He grins.\nd,,"Eyes wide, mouth open."\n'
)
READINGS = {"thrilled": "[happy, excited]", "cries": "[sad]", "grins.": "[happy]", "Eyes wide": "Output: [amazed]"}


def test_mer_extracts_labels_from_published_reasons_and_scores_by_hand(llm_servers, tmp_path, wheel_dir, capsys):
    server = llm_servers()
    server.responder = lambda prompt: next(r for key, r in READINGS.items() if key in prompt.rsplit("Input: ", 1)[1])
    (tmp_path / "gt.csv").write_text(MER_GT)
    (tmp_path / "pred.csv").write_text(MER_PRED)
    argv = [
        "mer",
        "--gt",
        str(tmp_path / "gt.csv"),
        "--pred",
        str(tmp_path / "pred.csv"),
        "--wheel-dir",
        str(wheel_dir),
    ]
    assert run(eval_main, argv) == 2
    assert "pred.csv: no labels, only free-text reasons (column chi_reasons): pass --extractor-url" in (
        capsys.readouterr().err
    )
    argv += ["--extractor-url", server.url, "--set", f"eval.api_key_env={LLM_KEY_ENV}", "--json"]
    assert eval_main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    # as test_eval_csv.py: a hits on every wheel; b, c, d: wheel1-3 2/3, wheel4 1/3, wheel5 1/2
    assert result["hitrate"] == pytest.approx((3 * 2 / 3 + 1 / 3 + 1 / 2) / 5) and result["n"] == 4
    assert result["protocol"].startswith("MER-UniBench emotion wheels on labels extracted from the CSV's chi_reasons")
    assert result["llm"] == {"calls": 4, "cached": 0, "failed": 0} and result["warnings"] == []
    assert result["extractor"]["model"] == "Qwen2.5-7B-Instruct"
    assert eval_main(argv) == 0 and len(server.requests) == 4  # the replies are cached beside the predictions
    assert len(list((tmp_path / "llm-cache").glob("*.json"))) == 4


def test_ov_mer_reads_published_column_names(tmp_path, wheel_dir, capsys):
    (tmp_path / "gt.csv").write_text('names,openset\na,"[happy, sad]"\nb,[neutral]\nc,[sad]\n')
    (tmp_path / "pred.csv").write_text('names,pred_label,chi_reasons\na,"[joy, angry, xyz]",He is...\n')
    argv = ["ov-mer", "--gt", str(tmp_path / "gt.csv"), "--pred", str(tmp_path / "pred.csv")]
    assert eval_main([*argv, "--wheel-dir", str(wheel_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # as test_eval_csv.py: a P = R = 1/2 on every wheel, b neutral (skipped by every wheel), c empty: 1/4
    assert (result["f"], result["precision"], result["recall"]) == pytest.approx((0.25, 0.25, 0.25))
    assert result["warnings"] == ["pred.csv: 2 ground-truth id(s) without a prediction, scored as empty: b, c"]
