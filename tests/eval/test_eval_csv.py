import pytest

from nanoemox.errors import NanoEmoXError
from nanoemox.eval.csv_scoring import PROTOCOL, score_mer_csv, score_ov_mer_csv
from nanoemox.eval.errors import EvalError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def wheel_dir(reference):
    return reference / "emotion_wheel"


def test_score_mer_csv_hand_computed(tmp_path, wheel_dir):
    gt = write(tmp_path / "gt.csv", "name,emo\na,happy\nb,worried\nc,neutral\nd,surprise\n")
    pred = write(tmp_path / "pred.csv", 'name,openset\na,"[Happy, excited]"\nb,[sad]\nc,[happy]\nd,"[amazed]"\n')
    # a: 'happy' hits on every wheel ('excited' adds classes but hit rate counts the overlap only);
    # b, c, d as in test_eval_wheel.py: wheel1-3 2/3, wheel4 1/3, wheel5 1/2
    result = score_mer_csv(gt, pred, wheel_dir)
    hitrate = pytest.approx((3 * 2 / 3 + 1 / 3 + 1 / 2) / 5)
    assert result == {"hitrate": hitrate, "n": 4, "protocol": PROTOCOL, "warnings": []}


def test_score_ov_mer_csv_with_prediction_problems(tmp_path, wheel_dir):
    gt = write(tmp_path / "gt.csv", 'name,openset\na,"[happy, sad]"\nb,[neutral]\nc,[sad]\n')
    pred = write(
        tmp_path / "pred.csv",
        'name,openset\na,"[joy, angry, xyz]"\na,"[happy, sad]"\nzz,[happy]\nb,[happy],extra\n',
    )
    # a keeps its first row (P = R = 1/2 on every wheel); b's row is malformed (skipped, b is neutral anyway);
    # c has no row: scored as an empty prediction (0); per wheel P = R = F = 1/4 as in test_eval_wheel.py
    result = score_ov_mer_csv(gt, pred, wheel_dir)
    assert result["f"] == pytest.approx(0.25)
    assert result["precision"] == pytest.approx(0.25) and result["recall"] == pytest.approx(0.25)
    assert result["n"] == 3
    assert result["warnings"] == [
        "pred.csv: 1 malformed row(s) skipped: line 5",
        "pred.csv: 1 repeated id(s), first row kept: a",
        "pred.csv: 1 id(s) not in the ground truth, skipped: zz",
        "pred.csv: 2 ground-truth id(s) without a prediction, scored as empty: b, c",
    ]


def test_csv_command_prints_warnings_without_json(tmp_path, wheel_dir, capsys):
    from nanoemox.cli.eval import main

    gt = write(tmp_path / "gt.csv", "name,emo\na,happy\nb,sad\n")
    pred = write(tmp_path / "pred.csv", "name,openset\na,[happy]\nzz,[sad]\n")
    assert main(["mer", "--gt", str(gt), "--pred", str(pred), "--wheel-dir", str(wheel_dir)]) == 0
    captured = capsys.readouterr()
    assert "hitrate=0.5" in captured.out and "n=2" in captured.out
    assert "warning: pred.csv: 1 id(s) not in the ground truth, skipped: zz" in captured.err
    assert "warning: pred.csv: 1 ground-truth id(s) without a prediction, scored as empty: b" in captured.err


def test_ground_truth_problems_are_errors(tmp_path, wheel_dir):
    pred = write(tmp_path / "pred.csv", "name,openset\na,[happy]\n")
    with pytest.raises(EvalError, match=r"gt\.csv, line 3: id 'a' appears more than once"):
        score_mer_csv(write(tmp_path / "gt.csv", "name,emo\na,happy\na,sad\n"), pred, wheel_dir)
    with pytest.raises(EvalError, match=r"gt\.csv: missing column\(s\) emo or emotions \(has name, label\)"):
        score_mer_csv(write(tmp_path / "gt.csv", "name,label\na,happy\n"), pred, wheel_dir)
    with pytest.raises(EvalError, match=r"gt\.csv, line 2: malformed row"):
        score_mer_csv(write(tmp_path / "gt.csv", "name,emo\na\n"), pred, wheel_dir)
    with pytest.raises(EvalError, match=r"gt\.csv: no ground-truth rows"):
        score_mer_csv(write(tmp_path / "gt.csv", "name,emo\n"), pred, wheel_dir)
    with pytest.raises(NanoEmoXError, match=r"missing\.csv: CSV file not found"):
        score_mer_csv(tmp_path / "missing.csv", pred, wheel_dir)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name,emo\na,h\xe4ppy\n".encode("latin-1"))
    with pytest.raises(NanoEmoXError, match=r"latin1\.csv: not UTF-8 text \(byte 12\)"):
        score_mer_csv(latin1, pred, wheel_dir)
    huge = write(tmp_path / "huge.csv", "name,emo\na," + "x" * 200_000 + "\n")
    with pytest.raises(EvalError, match=r"huge\.csv, line 2: field larger than field limit"):
        score_mer_csv(huge, pred, wheel_dir)
    with pytest.raises(EvalError, match=r"pred2\.csv: missing column\(s\) openset or pred_label or chi_reasons"):
        score_mer_csv(
            write(tmp_path / "gt.csv", "name,emo\na,happy\n"), write(tmp_path / "pred2.csv", "name,x\n"), wheel_dir
        )
