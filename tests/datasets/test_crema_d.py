import json

import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.readers.crema_d import EMOTION_CODES, actor_split

from conftest import link_files


def test_emotion_codes_cover_the_vocabulary():
    assert sorted(EMOTION_CODES.values()) == sorted(EMOTIONS["crema-d"])
    assert [actor_split(a) for a in (1001, 1073, 1074, 1082, 1083, 1091)] == ["train", "train", "dev", "dev"] + [
        "test",
        "test",
    ]


def test_release_folders_with_and_without_video(tmp_path):
    (tmp_path / "AudioWAV").mkdir()
    for name in ("1001_DFA_ANG_XX", "1085_IEO_HAP_HI", "1040_ITH_SAD_X"):
        (tmp_path / "AudioWAV" / f"{name}.wav").touch()
    reader = open_dataset("crema-d", tmp_path)
    assert reader.layout == "folders"
    train = list(reader.read("train"))
    assert [(r.id, r.labels.emotion, r.subtitle) for r in train] == [
        ("1001_DFA_ANG_XX", "anger", "Don't forget a jacket."),
        ("1040_ITH_SAD_X", "sad", "I think I have a doctor's appointment."),
    ]
    assert train[0].audio == str(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav") and train[0].video is None
    (tmp_path / "VideoFlash").mkdir()
    test = list(open_dataset("crema-d", tmp_path).read("test"))
    assert [r.id for r in test] == ["1085_IEO_HAP_HI"]
    assert test[0].video == str(tmp_path / "VideoFlash" / "1085_IEO_HAP_HI.flv")


def test_bad_file_names_and_chat_items(tmp_path):
    (tmp_path / "AudioWAV").mkdir()
    (tmp_path / "AudioWAV" / "1001_XYZ_ANG_XX.wav").touch()
    with pytest.raises(MalformedRowError, match=r"1001_XYZ_ANG_XX.wav:0: '1001_XYZ_ANG_XX' is not"):
        list(open_dataset("crema-d", tmp_path).read("train"))
    chat = tmp_path / "chat"
    chat.mkdir()
    items = [
        {"messages": [{"content": ""}, {"content": "happy"}], "audios": ["/x/audio/Happy_1002_TIE_HAP_LO.wav"]},
        {"messages": [{"content": ""}, {"content": "sad"}], "audios": ["/x/audio/Happy_1002_TIE_HAP_MD.wav"]},
        {"messages": []},
    ]
    (chat / "crema_d_annotations.json").write_text(json.dumps(items))
    lenient = open_dataset("crema-d", chat, lenient=True)
    assert lenient.layout == "chat"
    records = list(lenient.read("train"))
    assert [r.id for r in records] == ["1002_TIE_HAP_LO"] and records[0].audio == str(
        chat / "audio" / "Happy_1002_TIE_HAP_LO.wav"
    )
    assert [s.split(": ")[0] for s in lenient.skipped] == [f"{chat / 'crema_d_annotations.json'}:{n}" for n in (2, 3)]


def test_reference_chat_json(reference, tmp_path):
    root = link_files(
        tmp_path, {"crema_d_annotations.json": reference / "official-annotations" / "crema_d_annotations.json"}
    )
    reader = open_dataset("crema-d", root)
    assert [sum(1 for _ in reader.read(s)) for s in reader.splits] == [5967, 737, 738]
    ids = [r.id for r in reader.read()]
    assert len(set(ids)) == 7442 and all("." not in i for i in ids)


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match="looked for AudioWAV/"):
        open_dataset("crema-d", tmp_path)
