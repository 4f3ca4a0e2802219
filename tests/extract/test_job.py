"""The extraction job on Ray Data over generated clips: bad inputs, summary, resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

from nanoemox.cli.extract import main
from nanoemox.config import load_config
from nanoemox.extract.job import clips_per_decode_task, encoder_batch_size
from nanoemox.shards.index import read_index

from helpers import write_meld_corpus

BAD_AND_GOOD = [
    {},  # 0: good
    {"audio": False},  # 1: no audio track
    {"face": False},  # 2: no face anywhere
    {"seconds": 0.5, "fps": 10},  # 3: shorter than 2 s, fewer than 8 frames
    {"file": "corrupt"},  # 4: truncated mp4
    {"file": "missing"},  # 5: listed but absent
    {"file": "dir"},  # 6: unreadable path (a folder)
]


def test_job_goes_on_past_bad_clips_and_resumes(tmp_path, capfd):
    root = write_meld_corpus(tmp_path / "meld", BAD_AND_GOOD)
    csv_path = root / "test_sent_emo.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"Line 0", b"Caf\xe9 0"))  # a Latin-1 subtitle
    out = tmp_path / "shards"
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(out), "--preset", "tiny", "--num-cpus", "2"]
    argv.append("--lenient")
    assert main([*argv, "--shard-size", "3"]) == 0
    summary, errors = capfd.readouterr()
    assert "core_worker.cc" not in errors  # Ray's actor-restart warning, which looked like an error
    assert "meld/test: 4 clips written, 0 already done, 3 failed, 1 without a face" in summary
    assert "1 without audio" in summary
    split = out / "meld" / "test"
    index = read_index(split)
    assert index["total"] == 4 and [s["count"] for s in index["shards"]] == [3, 1]
    assert index["contract"]["model"]["clip"]["layers"] == [1, 2, 3]
    failures = [json.loads(line) for line in (split / "failures.jsonl").read_text().splitlines()]
    assert {f["id"]: f["stage"] for f in failures} == {
        "dia4_utt0": "decode",
        "dia5_utt0": "decode",
        "dia6_utt0": "decode",
    }
    assert "dia4_utt0.mp4: cannot decode" in failures[0]["error"]
    assert (split / "config.yaml").is_file()

    from nanoemox.config import load_config
    from nanoemox.shards.reader import iter_split

    samples = {s.key: s for s in iter_split(split, load_config(preset="tiny"))}
    assert not samples["dia1_utt0"].has_audio and not samples["dia1_utt0"].hubert.any()
    assert samples["dia2_utt0"].has_video and not samples["dia2_utt0"].face_mask.any()
    assert samples["dia0_utt0"].face_mask.all() and samples["dia0_utt0"].record.labels.emotion == "joy"
    assert samples["dia0_utt0"].record.subtitle == "Caf\ufffd 0"  # the non-UTF-8 subtitle did not stop the job

    assert main(argv) == 0  # the same command again: nothing new, failures retried
    assert "0 clips written, 4 already done, 3 failed" in capfd.readouterr().out
    assert read_index(split)["total"] == 4


def test_sigkill_half_way_then_resume_writes_each_clip_once(tmp_path):
    clips = [{"seconds": 2.0} for _ in range(8)]
    root = write_meld_corpus(tmp_path / "meld", clips)
    out = tmp_path / "shards"
    command = [
        sys.executable, "-m", "nanoemox.cli.extract", "--dataset", "meld", "--root", str(root), "--out", str(out),
        "--preset", "tiny", "--num-cpus", "2", "--shard-size", "2", "--batch-size", "1",
    ]  # fmt: skip
    stuck = root / "output_repeated_splits_test" / "dia4_utt0.mp4"  # the fifth clip hangs (a FIFO with no writer),
    content = stuck.read_bytes()  # so clips come out in order only up to it and the kill lands half way
    stuck.unlink()
    os.mkfifo(stuck)
    job = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index_path = out / "meld" / "test" / "index.json"
    deadline = time.time() + 240
    while time.time() < deadline and job.poll() is None:
        if index_path.is_file() and json.loads(index_path.read_text())["total"] >= 2:
            break
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    stuck.unlink()
    stuck.write_bytes(content)
    partial = read_index(out / "meld" / "test")
    assert 2 <= partial["total"] < 8, "the job should have been killed half way"
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    ids = [clip_id for shard in read_index(out / "meld" / "test")["shards"] for clip_id in shard["ids"]]
    assert sorted(ids) == sorted(f"dia{i}_utt0" for i in range(8))  # every clip, exactly once


def test_the_encoder_takes_one_clip_a_call_on_the_cpu_and_16_on_gpus_unless_set():
    assert encoder_batch_size(load_config(preset="tiny")) == 1
    assert encoder_batch_size(load_config(preset="tiny", overrides=["extract.num_gpus=1"])) == 16
    assert encoder_batch_size(load_config(preset="tiny", overrides=["extract.batch_size=4"])) == 4


def test_decode_tasks_take_up_to_4_clips_but_each_actor_gets_at_least_4_tasks():
    assert [clips_per_decode_task(clips, 2) for clips in (1, 8, 15, 16, 24, 32, 1000)] == [1, 1, 1, 2, 3, 4, 4]
