import numpy as np
import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def write_dialog(root, session, dialog, utterances, extra_line=""):
    """EmoEvaluation and transcription files of one dialog, in the release's formats."""
    base = root / f"Session{session}" / "dialog"
    (base / "EmoEvaluation").mkdir(parents=True, exist_ok=True)
    (base / "transcriptions").mkdir(parents=True, exist_ok=True)
    evaluation = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    transcript = []
    for utterance, start, end, label, text in utterances:
        evaluation += [
            f"[{start:.4f} - {end:.4f}]\t{utterance}\t{label}\t[2.5000, 2.5000, 2.5000]",
            f"C-E1:\t{label.title()};\t()",
            "",
        ]
        transcript.append(f"{utterance} [{start:08.4f}-{end:08.4f}]: {text}")
    (base / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(evaluation + [extra_line]) + "\n")
    (base / "transcriptions" / f"{dialog}.txt").write_text("\n".join(transcript) + "\n")


def release_root(tmp_path, extra_line=""):
    write_dialog(
        tmp_path,
        1,
        "Ses01F_impro01",
        [
            ("Ses01F_impro01_F000", 6.2901, 8.2357, "neu", "Excuse me."),
            ("Ses01F_impro01_M000", 8.5, 10.0, "fru", "Do you have your forms?"),
            ("Ses01F_impro01_F001", 10.2, 11.0, "exc", "Yeah."),
        ],
        extra_line,
    )
    write_dialog(tmp_path, 5, "Ses05M_script01_1", [("Ses05M_script01_1_M000", 1.0, 2.5, "ang", "Leave it.")])
    return tmp_path


def test_release_four_classes_history_and_session_splits(tmp_path):
    reader = open_dataset("iemocap", release_root(tmp_path))
    assert reader.layout == "release" and reader.splits == ("train", "test")
    train = list(reader.read("train"))
    assert [(r.id, r.labels.emotion) for r in train] == [
        ("Ses01F_impro01_F000", "neutral"),
        ("Ses01F_impro01_F001", "happy"),
    ]
    assert reader.excluded == {"fru": 1} and reader.skipped == []
    last = train[1]
    assert [(t.speaker, t.utterance) for t in last.dialogue] == [("F", "Excuse me."), ("M", "Do you have your forms?")]
    assert last.subtitle == "Yeah." and (last.start, last.end) == (10.2, 11.0)
    video = tmp_path / "Session1" / "dialog" / "avi" / "DivX" / "Ses01F_impro01.avi"
    assert last.video == last.audio == str(video)
    test = list(reader.read("test"))
    assert [(r.id, r.split, r.labels.emotion, r.dialogue) for r in test] == [
        ("Ses05M_script01_1_M000", "test", "angry", [])
    ]


def test_malformed_evaluation_line_names_file_and_line(tmp_path):
    root = release_root(tmp_path, extra_line="[12.0 - oops]\tSes01F_impro01_F002\tsad\t[1, 2, 3]")
    with pytest.raises(MalformedRowError, match=r"Ses01F_impro01.txt:12: expected '\[start - end\]"):
        list(open_dataset("iemocap", root).read("train"))
    lenient = open_dataset("iemocap", root, lenient=True)
    assert len(list(lenient.read("train"))) == 2 and len(lenient.skipped) == 1


def test_utterance_missing_from_transcription(tmp_path):
    root = release_root(tmp_path, extra_line="[12.0000 - 13.0000]\tSes01F_impro01_F009\tsad\t[1, 2, 3]")
    with pytest.raises(MalformedRowError, match="Ses01F_impro01_F009 is not in transcriptions/Ses01F_impro01.txt"):
        list(open_dataset("iemocap", root).read("train"))


def test_unibench_layout(tmp_path):
    corpus = {
        "Ses01F_impro01_F000": {"emo": 2, "val": -10},
        "Ses05F_script02_2_M010": {"emo": 3, "val": -10},
        "Ses05F_script02_2_F011": {"emo": 0, "val": -10},
        "broken": {"emo": 1, "val": -10},
    }
    np.savez_compressed(tmp_path / "label_4way.npz", whole_corpus=corpus)
    rows = [f"{name},中文,text {i}" for i, name in enumerate(corpus)]
    (tmp_path / "transcription-engchi-polish.csv").write_text("name,chinese,english\n" + "\n".join(rows) + "\n")
    reader = open_dataset("iemocap", tmp_path, lenient=True)
    assert reader.layout == "unibench"
    test = list(reader.read("test"))
    assert [(r.id, r.labels.emotion, r.subtitle) for r in test] == [
        ("Ses05F_script02_2_M010", "angry", "text 1"),
        ("Ses05F_script02_2_F011", "happy", "text 2"),
    ]
    assert test[0].video == str(tmp_path / "subvideo-tgt" / "Ses05F_script02_2_M010.avi")
    assert test[0].audio == str(tmp_path / "subaudio" / "Ses05F_script02_2_M010.wav")
    assert [r.labels.emotion for r in reader.read("train")] == ["neutral"]
    assert reader.skipped and "label_4way.npz:4: whole_corpus entry 'broken'" in reader.skipped[0]


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for Session1..5/dialog/EmoEvaluation"):
        open_dataset("iemocap", tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        list(open_dataset("iemocap", release_root(tmp_path)).read("dev"))
