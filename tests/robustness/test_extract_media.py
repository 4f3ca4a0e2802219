"""Issue 13 items 6 and 7: audio-only media extract with the visual masks; clip ids differing only by '.' and '_'
stay two clips in a readable split; a repeated id is listed in failures.jsonl, not silently dropped."""

import io
import json
from contextlib import redirect_stdout

import pytest
import torch

from nanoemox.cli.extract import main as extract_main
from nanoemox.config import load_config
from nanoemox.shards.index import read_index
from nanoemox.shards.reader import iter_split

from helpers import write_meld_corpus

CLIPS = [
    {"seconds": 2.0},  # dia0_utt0
    {"seconds": 2.0, "video": False},  # dia1_utt0: an audio-only file
    {"seconds": 2.0, "dialogue": 2, "utterance": "0.5", "size": 128},  # dia2_utt0.5
    {"seconds": 2.0, "dialogue": 2, "utterance": "0_5", "size": 192},  # dia2_utt0_5
    {"seconds": 2.0, "dialogue": 3, "utterance": 0},  # dia3_utt0
    {"seconds": 2.0, "dialogue": 3, "utterance": 0},  # dia3_utt0 again
]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The corpus extracted twice (the first clip alone first): its split folder and the second run's summary."""
    tmp = tmp_path_factory.mktemp("media")
    root = write_meld_corpus(tmp / "meld", CLIPS)
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp / "shards"), "--preset", "tiny"]
    argv += ["--num-cpus", "2", "--shard-size", "2"]
    assert extract_main([*argv, "--limit", "1"]) == 0
    split = tmp / "shards" / "meld" / "test"
    first = read_index(split)["shards"]
    with redirect_stdout(io.StringIO()) as printed:
        assert extract_main(argv) == 0
    assert read_index(split)["shards"][: len(first)] == first  # the clip done before is kept
    samples = {s.record.id: s for s in iter_split(split, load_config(preset="tiny"))}
    return split, printed.getvalue(), samples


def test_audio_only_media_extract_with_the_visual_masks(extracted):
    _, summary, samples = extracted
    clip = samples["dia1_utt0"]
    assert clip.has_audio and clip.hubert.any()
    assert not clip.has_video and not clip.clip.any() and not clip.face.any() and not clip.face_mask.any()
    assert "1 without video" in summary


def test_ids_differing_only_by_dot_and_underscore_stay_two_clips(extracted):
    split, _, samples = extracted
    ids = [clip_id for shard in read_index(split)["shards"] for clip_id in shard["ids"]]
    assert sorted(ids) == ["dia0_utt0", "dia1_utt0", "dia2_utt0.5", "dia2_utt0_5", "dia3_utt0"]
    dotted, underscored = samples["dia2_utt0.5"], samples["dia2_utt0_5"]  # the split reads back, both clips in it
    assert dotted.key != underscored.key and not torch.equal(dotted.clip, underscored.clip)
    assert dotted.record.id == "dia2_utt0.5" and underscored.record.id == "dia2_utt0_5"


def test_a_repeated_id_is_listed_in_failures(extracted):
    split, summary, samples = extracted
    failures = [json.loads(line) for line in (split / "failures.jsonl").read_text().splitlines()]
    assert [(f["id"], f["stage"]) for f in failures] == [("dia3_utt0", "id")]
    assert "dia3_utt0.mp4: an earlier clip of the split has id dia3_utt0" in failures[0]["error"]
    assert "4 clips written, 1 already done, 1 failed" in summary and "dia3_utt0" in samples
