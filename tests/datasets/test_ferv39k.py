import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def write_setup(root, split, text):
    folder = root / "4_setups" / "All_scenes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}_All.csv").write_text(text)


def test_setup_lists_to_frame_folders(tmp_path):
    write_setup(tmp_path, "train", "Action/Fight/Angry/0047 Angry\nDaily/Party/Happy/0003 Happy\n")
    write_setup(tmp_path, "test", "Daily/Party/Neutral/0100 Neutral\n")
    reader = open_dataset("ferv39k", tmp_path)
    assert reader.layout == "setups" and reader.splits == ("train", "test")
    train = list(reader.read("train"))
    assert [(r.id, r.labels.emotion) for r in train] == [
        ("Action_Fight_Angry_0047", "angry"),
        ("Daily_Party_Happy_0003", "happy"),
    ]
    assert train[0].frames_dir == str(tmp_path / "2_ClipsforFaceCrop" / "Action" / "Fight" / "Angry" / "0047")
    assert train[0].video is None and train[0].audio is None
    assert [r.id for r in reader.read("test")] == ["Daily_Party_Neutral_0100"]


def test_malformed_lines(tmp_path):
    write_setup(tmp_path, "train", "a/Angry/1 Angry\na/Bored/2 Bored\nonlyonefield\n")
    with pytest.raises(MalformedRowError, match=r"train_All.csv:2: expected"):
        list(open_dataset("ferv39k", tmp_path).read("train"))
    lenient = open_dataset("ferv39k", tmp_path, lenient=True)
    assert [r.id for r in lenient.read("train")] == ["a_Angry_1"]
    assert [s.split(": ")[0].rsplit(":", 1)[1] for s in lenient.skipped] == ["2", "3"]


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match="looked for 4_setups/All_scenes/train_All.csv"):
        open_dataset("ferv39k", tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        write_setup(tmp_path, "train", "")
        list(open_dataset("ferv39k", tmp_path).read("dev"))
