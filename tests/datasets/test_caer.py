import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def make_clips(root, *relative):
    for rel in relative:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).touch()


def test_folder_layout_and_splits(tmp_path):
    make_clips(
        tmp_path,
        "train/Anger/0001.avi",
        "train/Happy/0001.avi",
        "validation/Fear/0007.avi",
        "test/Surprise/0002.avi",
        "test/Surprise/notes.txt",
    )
    reader = open_dataset("caer", tmp_path)
    assert reader.layout == "folders"
    train = list(reader.read("train"))
    assert [(r.id, r.labels.emotion) for r in train] == [("train_Anger_0001", "anger"), ("train_Happy_0001", "happy")]
    assert train[0].video == train[0].audio == str(tmp_path / "train" / "Anger" / "0001.avi")
    assert [(r.id, r.split) for r in reader.read("dev")] == [("dev_Fear_0007", "dev")]
    assert [r.id for r in reader.read("test")] == ["test_Surprise_0002"]


def test_unknown_emotion_folder(tmp_path):
    make_clips(tmp_path, "train/Bored/0001.avi", "train/Sad/0003.avi")
    with pytest.raises(MalformedRowError, match=r"Bored:0: folder 'Bored'"):
        list(open_dataset("caer", tmp_path).read("train"))
    lenient = open_dataset("caer", tmp_path, lenient=True)
    assert [r.id for r in lenient.read("train")] == ["train_Sad_0003"] and len(lenient.skipped) == 1


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match="looked for train/, validation/ and test/"):
        open_dataset("caer", tmp_path)
