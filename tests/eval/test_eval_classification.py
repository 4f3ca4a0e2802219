import pytest

from nanoemox.eval.classification import accuracy, prf
from nanoemox.eval.errors import EvalError
from nanoemox.eval.mir import mir_scores
from nanoemox.eval.msa import msa_scores


def test_mir_scores_hand_computed():
    gt = {"1": "thank", "2": "thank", "3": "praise", "4": "complain", "5": "Praise"}
    pred = {"1": "thank", "2": "unknown", "3": "praise", "4": "praise", "5": "multi", "extra": "thank"}
    # classes: complain, multi, praise, thank, unknown (sklearn: labels of truth and predictions together)
    #   complain: P 0 (no preds)    R 0/1          F 0       support 1
    #   multi:    P 0/1             R 0 (no truth) F 0       support 0
    #   praise:   P 1/2             R 1/2          F 1/2     support 2
    #   thank:    P 1/1             R 1/2          F 2/3     support 2
    #   unknown:  P 0/1             R 0            F 0       support 0
    scores = mir_scores(gt, pred)
    assert scores["acc"] == pytest.approx(2 / 5)
    assert scores["precision"] == pytest.approx((0.5 + 1) / 5)
    assert scores["recall"] == pytest.approx((0.5 + 0.5) / 5)
    assert scores["f1"] == pytest.approx((0.5 + 2 / 3) / 5)
    assert scores["wp"] == pytest.approx((2 * 0.5 + 2 * 1) / 5)
    assert scores["wf1"] == pytest.approx((2 * 0.5 + 2 * 2 / 3) / 5)
    assert scores["n"] == 5


def test_mir_missing_prediction_names_the_id():
    with pytest.raises(EvalError, match=r"1 ground-truth id\(s\) have no prediction: b"):
        mir_scores({"a": "thank", "b": "joke"}, {"a": "thank"})


def test_msa_drops_zero_truth_and_scores_positive_vs_rest():
    gt = {"a": 1.2, "b": -0.4, "c": 0.0, "d": 2.0, "e": -3.0}
    pred = {"a": 1, "b": 0, "c": 1, "d": -1, "e": 1}
    # kept a, b, d, e: truth [T, F, T, F], prediction [T, F, F, T] -> acc 2/4
    # class T: P 1/2 R 1/2 F 1/2; class F: P 1/2 R 1/2 F 1/2 -> weighted F1 1/2
    assert msa_scores(gt, pred) == {"waf": pytest.approx(0.5), "acc": pytest.approx(0.5), "n": 4}


def test_msa_all_zero_truth_is_an_error():
    with pytest.raises(EvalError, match="every ground-truth sentiment is 0"):
        msa_scores({"a": 0.0}, {"a": 1})


def test_weighted_average_ignores_classes_absent_from_the_truth():
    # truth all 'x': class y has support 0, so weighted P = P(x) = 1, weighted R = R(x) = 1/2
    assert prf(["x", "x"], ["x", "y"], "weighted") == pytest.approx((1.0, 0.5, 2 / 3))
    assert accuracy(["x", "x"], ["x", "y"]) == 0.5


def test_classification_input_errors():
    with pytest.raises(EvalError, match="2 ground-truth labels but 1 predictions"):
        accuracy(["a", "b"], ["a"])
    with pytest.raises(EvalError, match="no samples"):
        prf([], [], "macro")
    with pytest.raises(ValueError, match="'micro'"):
        prf(["a"], ["a"], "micro")
