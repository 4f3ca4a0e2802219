"""Label files from the internet are data: reading one never runs code from it."""

import io
import pathlib
import pickle
import signal
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import webdataset as wds

from nanoemox.datasets import open_dataset
from nanoemox.datasets.base import DatasetError
from nanoemox.datasets.readers.affectgpt import load_npz_corpus
from nanoemox.shards.reader import all_samples, iter_split
from nanoemox.shards.writer import sample_key

from helpers import write_feature_shards


class Touch:
    """Pickles as a call of Path.touch: unpickling it with np.load(allow_pickle=True) creates `marker`."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


class ShortDTypeState:
    """Pickles as np.dtype('i8') with two fields of its state missing: NumPy's own unpickling then crashes."""

    def __reduce__(self):
        return np.dtype, ("i8", False, True), (3, "<", None, -1, -1, 0)


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


def test_a_label_npz_that_crashes_numpys_unpickler_is_a_clear_error(tmp_path):
    path = tmp_path / "label.npz"
    np.savez_compressed(path, test_corpus={"a": {"emo": "sad", "val": ShortDTypeState()}})
    load = f"import numpy as np; np.load({str(path)!r}, allow_pickle=True)['test_corpus']"
    assert subprocess.run([sys.executable, "-c", load], capture_output=True, timeout=60).returncode == -signal.SIGSEGV
    with pytest.raises(DatasetError, match=r"label.npz: not a readable AffectGPT label .npz \(only simple dtypes"):
        load_npz_corpus(path, "test_corpus")


def test_label_npz_with_numpy_values_still_reads(tmp_path):
    path = tmp_path / "label.npz"
    grid = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    corpus = {"a": {"emo": "sad", "val": np.float64(-1.5), "scores": np.arange(3), "words": ["x", "y"]}}
    corpus["b"] = {"names": np.array(["happy", "sad"]), "grid": grid, "ok": np.bool_(True), "n": np.int32(7)}
    np.savez_compressed(path, test_corpus=corpus, sizes=np.arange(4))
    loaded = load_npz_corpus(path, "test_corpus")
    assert loaded["a"]["val"] == -1.5 and loaded["a"]["emo"] == "sad" and loaded["a"]["words"] == ["x", "y"]
    assert loaded["a"]["scores"].tolist() == [0, 1, 2] and loaded["b"]["names"].tolist() == ["happy", "sad"]
    assert np.array_equal(loaded["b"]["grid"], grid) and loaded["b"]["ok"] and loaded["b"]["n"] == 7


def test_a_shard_member_that_would_unpickle_runs_no_code(tiny_cfg, tmp_path):
    split = write_feature_shards(tmp_path / "shards", "meld", "test", tiny_cfg, 2)
    marker, shard = tmp_path / "pwned", split / "shard-000000.tar"
    with tarfile.open(shard, "a") as tar:  # the last clip gains a member webdataset would unpickle by default
        payload = pickle.dumps(Touch(marker))
        member = tarfile.TarInfo(f"{sample_key('meld_test_1')}.extra.pkl")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    raws = list(all_samples([str(shard)]))
    assert len(raws) == 2 and "extra.pkl" in raws[1]
    wds.autodecode.Decoder([wds.autodecode.basichandlers])(raws[1])  # webdataset's own default unpickles it
    assert marker.exists()
    marker.unlink()

    samples = list(iter_split(split, tiny_cfg))
    assert [s.key for s in samples] == [sample_key("meld_test_0"), sample_key("meld_test_1")]
    assert not marker.exists()
