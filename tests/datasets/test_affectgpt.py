import numpy as np
import pytest

from nanoemox.datasets.base import DatasetError
from nanoemox.datasets.readers.affectgpt import load_npz_corpus, parse_openset


def test_parse_openset_accepts_the_published_spellings():
    assert parse_openset("[Happy, excited]") == ["happy", "excited"]
    assert parse_openset("['sad', 'tired', 'sad']") == ["sad", "tired"]
    assert parse_openset("worried，anxious") == ["worried", "anxious"]
    assert parse_openset("[]") == [] and parse_openset("") == []


def test_load_npz_corpus_missing_and_malformed_corpora(tmp_path):
    path = tmp_path / "label.npz"
    np.savez_compressed(path, test_corpus={"a": {"val": 0.5}}, train_corpus=np.array(5))
    assert load_npz_corpus(path, "test_corpus") == {"a": {"val": 0.5}}
    assert load_npz_corpus(path, "val_corpus", missing_ok=True) == {}
    with pytest.raises(DatasetError, match=r"no 'val_corpus' array \(has test_corpus, train_corpus\)"):
        load_npz_corpus(path, "val_corpus")
    with pytest.raises(DatasetError, match=r"'train_corpus' is not a \{name: label\} dict"):
        load_npz_corpus(path, "train_corpus")
