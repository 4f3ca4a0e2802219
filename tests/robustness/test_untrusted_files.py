"""Label files from the internet are data: reading one never runs code from it."""

import pathlib

import numpy as np
import pytest

from nanoemox.datasets import open_dataset
from nanoemox.datasets.base import DatasetError
from nanoemox.datasets.readers.affectgpt import load_npz_corpus


class Touch:
    """Pickles as a call of Path.touch: unpickling it with np.load(allow_pickle=True) creates `marker`."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def crafted_npz(path: pathlib.Path, marker: pathlib.Path) -> None:
    corpus = {"sample_1": {"emo": "happy", "val": Touch(marker)}}
    np.savez_compressed(path, test1_corpus=np.array(corpus, dtype=object), train_corpus={"a": {"emo": "sad"}})


def test_crafted_label_npz_runs_no_code_and_names_the_file(tmp_path):
    path, marker = tmp_path / "label-6way.npz", tmp_path / "pwned"
    crafted_npz(path, marker)
    with np.load(path, allow_pickle=True) as data:  # the crafted file does run code when unpickled freely
        data["test1_corpus"]
    assert marker.exists()
    marker.unlink()

    with pytest.raises(DatasetError, match=r"label-6way.npz: not a readable AffectGPT label .npz .*pathlib.*touch"):
        load_npz_corpus(path, "train_corpus")
    with pytest.raises(DatasetError, match=r"label-6way.npz: .*only plain data"):
        list(open_dataset("mer2023", tmp_path).read("test"))
    assert not marker.exists()


def test_label_npz_with_numpy_values_still_reads(tmp_path):
    path = tmp_path / "label.npz"
    corpus = {"a": {"emo": "sad", "val": np.float64(-1.5), "scores": np.arange(3), "words": ["x", "y"]}}
    np.savez_compressed(path, test_corpus=corpus, sizes=np.arange(4))
    loaded = load_npz_corpus(path, "test_corpus")
    assert loaded["a"]["val"] == -1.5 and loaded["a"]["emo"] == "sad" and loaded["a"]["words"] == ["x", "y"]
    assert loaded["a"]["scores"].tolist() == [0, 1, 2]
