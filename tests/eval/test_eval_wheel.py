import functools
from pathlib import Path

import openpyxl
import pytest

from nanoemox.eval.errors import EvalError
from nanoemox.eval.msa import wheel_polarity, word_polarity
from nanoemox.eval.wheel import EmotionWheels, split_label_list

WHEEL_FILES = ("format.csv", "synonym.xlsx", "wheel1.xlsx", "wheel2.xlsx", "wheel3.xlsx", "wheel4.xlsx", "wheel5.xlsx")


@functools.cache
def load_once(root: Path) -> EmotionWheels:
    return EmotionWheels.load(root)


@pytest.fixture
def wheels(reference) -> EmotionWheels:
    return load_once(reference / "emotion_wheel")


def link_wheel_files(source: Path, target: Path, names: tuple[str, ...]) -> Path:
    """A wheel folder in tmp whose files are symlinks to the reference files (never copies)."""
    target.mkdir(exist_ok=True)
    for name in names:
        (target / name).symlink_to(source / name)
    return target


def test_split_label_list_is_affectgpts_string_to_list():
    assert split_label_list("[happy, 'sad', \"tired\"]") == ["happy", "sad", "tired"]
    assert split_label_list("happy") == ["happy"]
    assert split_label_list("[]") == [] and split_label_list("") == [] and split_label_list(None) == []


def test_word_forms_and_synonyms_reach_the_same_level1_class(wheels):
    # wheel1's level-1 'mad' via the word itself, a synonym and a word form
    for word in ("angry", "furious", "anger", "Mad "):
        assert [wheels.level1(word.lower().strip(), wheel) for wheel in range(5)] == [
            "mad",
            "angry",
            "mad",
            "anger",
            "mad",
        ]
    for word in ("sad", "sadness", "sorrowful", "depressed"):
        assert wheels.classes([word], 0) == {"sad"}
    assert [wheels.level1("neutral", wheel) for wheel in range(5)] == [""] * 5
    assert wheels.classes(["not-an-emotion"], 0) == set()


def test_hitrate_hand_computed(wheels):
    # level-1 classes per wheel 1..5 (from the reference files):
    #   happy    happy  happy  joyful   joy     powerful
    #   worried  scared fearful scared  fear    scared     (prediction 'sad' is 'sad' on every wheel: miss)
    #   surprise surprised surprised powerful fear  -      (wheel5: no class, sample skipped there)
    #   amazed   surprised surprised powerful genius -
    #   neutral maps nowhere: skipped on every wheel
    # wheel1-3: hits [1, 0, 1] -> 2/3; wheel4: [1, 0, 0] -> 1/3; wheel5: [1, 0] -> 1/2
    gt = {"a": "happy", "b": "worried", "c": "neutral", "d": "surprise"}
    pred = {"a": [" Happy"], "b": ["sad"], "c": ["happy"], "d": ["amazed"]}
    assert wheels.hitrate(gt, pred) == pytest.approx((3 * 2 / 3 + 1 / 3 + 1 / 2) / 5)


def test_ov_scores_hand_computed(wheels):
    # on every wheel: a) truth {happy-class, sad} vs prediction {happy-class ('joy'), mad-class ('angry')}
    #   ('xyz' maps nowhere and is dropped): P 1/2, R 1/2; b) neutral truth skipped; c) empty prediction: P 0, R 0
    # per wheel P = R = 1/4, F = 2PR/(P+R) = 1/4; the mean over the wheels is the same
    gt = {"a": ["happy", "sad"], "b": ["neutral"], "c": ["sad"]}
    pred = {"a": ["joy", "angry", "xyz"], "b": ["happy"], "c": []}
    scores = wheels.ov_scores(gt, pred)
    assert scores["precision"] == pytest.approx(0.25)
    assert scores["recall"] == pytest.approx(0.25)
    assert scores["f"] == pytest.approx(0.25)
    assert scores["n"] == 3 and scores["n_per_wheel"] == [2] * 5


def test_perfect_and_empty_predictions(wheels):
    gt = {"a": ["happy"], "b": ["angry", "sad"]}
    assert wheels.ov_scores(gt, gt)["f"] == pytest.approx(1.0)
    assert wheels.ov_scores(gt, {"a": [], "b": []})["f"] == 0.0  # the reference would give NaN here


def test_scoring_errors(wheels):
    with pytest.raises(EvalError, match="have no prediction: b"):
        wheels.hitrate({"a": "happy", "b": "sad"}, {"a": ["happy"]})
    with pytest.raises(EvalError, match="no ground-truth label maps onto wheel1"):
        wheels.hitrate({"a": "neutral"}, {"a": ["happy"]})


def test_polarity_without_an_llm(wheels):
    assert [word_polarity(wheels, word) for word in ("happy", "calm", "excited")] == [1, 1, 1]
    assert [word_polarity(wheels, word) for word in ("sad", "worried", "fear")] == [-1, -1, -1]
    assert [word_polarity(wheels, word) for word in ("surprise", "neutral", "xyz")] == [0, 0, 0]
    assert wheel_polarity(wheels, ["happy", "sad", "calm"]) == 1
    assert wheel_polarity(wheels, ["happy", "sad"]) == 0
    assert wheel_polarity(wheels, []) == 0


def test_missing_or_broken_wheel_files_are_named(reference, tmp_path):
    link_wheel_files(reference / "emotion_wheel", tmp_path, WHEEL_FILES[:-1])
    with pytest.raises(EvalError, match=r"emotion-wheel file missing: .*wheel5\.xlsx"):
        EmotionWheels.load(tmp_path)
    book = openpyxl.Workbook()
    book.active.append(["level1", "level2"])
    book.save(tmp_path / "wheel5.xlsx")
    with pytest.raises(EvalError, match=r"wheel5\.xlsx: missing column\(s\) level3"):
        EmotionWheels.load(tmp_path)
    (tmp_path / "wheel5.xlsx").write_text("not a workbook")
    with pytest.raises(EvalError, match=r"wheel5\.xlsx: not a readable \.xlsx file"):
        EmotionWheels.load(tmp_path)
    with pytest.raises(EvalError, match="emotion-wheel folder not found"):
        EmotionWheels.load(tmp_path / "nowhere")


def test_format_csv_needs_its_columns(reference, tmp_path):
    root = link_wheel_files(reference / "emotion_wheel", tmp_path / "ew", WHEEL_FILES[1:])
    (root / "format.csv").write_text("word,forms\nhappy,happy\n")
    with pytest.raises(EvalError, match=r"format\.csv: expected columns name,format"):
        EmotionWheels.load(root)
