"""Every output on object storage: a real S3 server (moto's server mode on localhost) holds the shards, the run,
the predictions, the eval results and the report; jobs killed with SIGKILL resume with nothing lost or repeated."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nanoemox.cli.eval import main as eval_main
from nanoemox.cli.extract import main as extract_main
from nanoemox.cli.score import main as score_main
from nanoemox.cli.train import main as train_main

from helpers import write_meld_corpus

pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")

BUCKET = "nanoemox-test"
EMOTIONS = ["joy", "anger", "sadness", "neutral"]
TRAIN_CLIPS = 8
LOCK_STALE_S = 3  # a killed job's lock object is taken over after this long
MIX = [
    "train.phases.3.tasks={mer: 1}",
    "train.phases.3.datasets={mer: [meld]}",
    "train.batch_size=2",
    "train.log_every=1",
    "storage.sync_every_s=0",
    f"storage.lock_stale_s={LOCK_STALE_S}",
] + [f"train.phases.{p}.steps=1" for p in ("1-speech", "1-visual", "2", "3")]  # joint: their sum, 4 steps


@pytest.fixture(scope="module")
def s3():
    """An S3 endpoint on a free local port, reached through the standard AWS environment variables."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem()
        fs.mkdir(BUCKET)
        yield fs
        s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def read_json(fs, url: str):
    fs.invalidate_cache()
    return json.loads(fs.cat_file(url))


def kill_when(command: list[str], ready, timeout: float = 240) -> None:
    """Start a job in its own process group and SIGKILL all of it once `ready()` holds."""
    job = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and job.poll() is None and not ready():
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    time.sleep(LOCK_STALE_S + 1)  # the killed job's lock object is abandoned only once its heartbeat is stale


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("meld")
    clips = [{"emotion": EMOTIONS[i % 4], "seconds": 2.0} for i in range(TRAIN_CLIPS)]
    write_meld_corpus(root, clips, split="train")
    write_meld_corpus(root, [{"emotion": EMOTIONS[i % 4], "seconds": 2.0} for i in range(3)], split="test")
    return root


@pytest.fixture(scope="module")
def shards(s3, corpus):
    """Extraction to s3://.../shards killed with SIGKILL after its first shards, then resumed: (URL, clips the
    killed job had published)."""
    url = f"s3://{BUCKET}/shards"
    argv = ["--dataset", "meld", "--root", str(corpus), "--out", url, "--preset", "tiny", "--num-cpus", "2"]
    argv += ["--set", f"storage.lock_stale_s={LOCK_STALE_S}"]
    index = f"{BUCKET}/shards/meld/train/index.json"

    def two_shards() -> bool:
        s3.invalidate_cache()
        return s3.exists(index) and read_json(s3, index)["total"] >= 4

    command = [sys.executable, "-m", "nanoemox.cli.extract", *argv, "--split", "train", "--shard-size", "2"]
    stuck = corpus / "train_splits" / "dia4_utt0.mp4"  # the fifth clip hangs (a FIFO with no writer), so clips
    content = stuck.read_bytes()  # come out in order only up to it and the kill lands half way, however fast the job
    stuck.unlink()
    os.mkfifo(stuck)
    try:
        kill_when([*command, "--batch-size", "1"], two_shards)
    finally:
        stuck.unlink()
        stuck.write_bytes(content)
    published = read_json(s3, index)["total"] if s3.exists(index) else 0
    assert extract_main([*argv, "--shard-size", "2"]) == 0
    from nanoemox.fileio import storage

    with storage.object_lock(f"{url}/meld/train", "another extraction"), pytest.raises(storage.StorageError):
        extract_main([*argv, "--shard-size", "2"])  # a second job on the same split is refused
    return url, published


def test_extraction_killed_on_s3_resumes_with_each_clip_once(s3, shards):
    _, published = shards
    assert 4 <= published < TRAIN_CLIPS, "the job should have been killed half way"
    index = read_json(s3, f"{BUCKET}/shards/meld/train/index.json")
    ids = [clip_id for shard in index["shards"] for clip_id in shard["ids"]]
    assert sorted(ids) == sorted(f"dia{i}_utt0" for i in range(TRAIN_CLIPS))  # every clip, exactly once
    stored = {name.rsplit("/", 1)[-1] for name in s3.ls(f"{BUCKET}/shards/meld/train")}
    assert {shard["file"] for shard in index["shards"]} <= stored
    assert {"config.yaml", "failures.jsonl"} <= stored and not [name for name in stored if name.endswith(".tmp")]


def test_train_score_eval_report_with_every_path_on_s3(s3, shards, corpus, capsys):
    url, _ = shards
    heads = f"s3://{BUCKET}/heads"
    sets = [item for o in MIX for item in ("--set", o)]
    argv = ["--strategy", "joint", "--features", url, "--out", heads, "--preset", "tiny", *sets]
    assert train_main(argv) == 0
    assert "joint: 4 steps" in capsys.readouterr().out
    run = f"{heads}/joint"
    marker = read_json(s3, f"{BUCKET}/heads/joint/joint/checkpoint.json")
    assert marker == {"folder": "step-000000004", "step": 4}
    folder = f"{BUCKET}/heads/joint/joint/step-000000004"
    assert {"heads.safetensors", "config.yaml", "trainer_state.json", "optimizer.safetensors"} <= {
        name.rsplit("/", 1)[-1] for name in s3.ls(folder)
    }
    assert s3.exists(f"{folder}/lora/adapter_model.safetensors")

    assert score_main(["--run", run, "--features", url, "--dataset", "meld", "--task", "mer"]) == 0
    assert "meld/test: 3 predictions written" in capsys.readouterr().out
    predictions = f"{run}/predictions/meld-test.jsonl"
    assert len(s3.cat_file(predictions).splitlines()) == 3
    assert score_main(["--run", run, "--features", url, "--dataset", "meld", "--task", "mer"]) == 0
    again = capsys.readouterr().out
    assert "0 predictions written" in again and "3 already there" in again
    assert len(s3.cat_file(predictions).splitlines()) == 3  # re-running added nothing

    assert eval_main(["--predictions", predictions, "--dataset", "meld", "--root", str(corpus), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tasks"]["mer"]["n"] == 3
    assert read_json(s3, f"{run}/eval/meld-test.json")["tasks"]["mer"]["n"] == 3
    assert eval_main(["report", "--run", run]) == 0
    assert "Nano-EmoX results: joint" in capsys.readouterr().out
    report = {name.rsplit("/", 1)[-1] for name in s3.ls(f"{run}/report")}
    assert {"report.md", "report.csv", "report.json", "gates.png"} <= report


def test_training_killed_on_s3_resumes_without_missing_or_repeated_steps(s3, shards):
    url, _ = shards
    overrides = [*MIX, "train.save_every=2"] + [f"train.phases.{p}.steps=3" for p in ("1-speech", "1-visual", "2", "3")]
    sets = [item for o in overrides for item in ("--set", o)]
    argv = ["--strategy", "joint", "--features", url, "--out", f"s3://{BUCKET}/killed", "--preset", "tiny", *sets]
    stage = f"{BUCKET}/killed/joint/joint"

    def four_steps() -> bool:
        s3.invalidate_cache()
        return s3.exists(f"{stage}/checkpoint.json") and read_json(s3, f"{stage}/checkpoint.json")["step"] >= 4

    kill_when([sys.executable, "-m", "nanoemox.train", *argv], four_steps, timeout=180)
    stopped_at = read_json(s3, f"{stage}/checkpoint.json")["step"]
    assert 4 <= stopped_at < 12, "the run should have been killed half way"
    # a later checkpoint whose upload the kill cut short: no marker names it, so resume must not trust it
    s3.pipe_file(f"{stage}/step-000000011/trainer_state.json", b'{"step": 11}')
    assert train_main([*argv, "--resume"]) == 0
    s3.invalidate_cache()
    log = s3.cat_file(f"{BUCKET}/killed/joint/logs/joint/metrics.jsonl").decode().splitlines()
    steps = [entry["step"] for entry in map(json.loads, log) if "loss" in entry]
    assert steps == list(range(1, 13))  # no step missing, none twice
    assert read_json(s3, f"{stage}/checkpoint.json") == {"folder": "step-000000012", "step": 12}
    assert sorted(name.rsplit("/", 1)[-1] for name in s3.ls(stage)) == ["checkpoint.json", "step-000000012"]


def test_a_second_writer_on_s3_is_refused_until_the_lock_is_released_or_abandoned(s3):
    from nanoemox.fileio import storage

    output = f"s3://{BUCKET}/locked/meld/test"
    storage.configure(lock_stale_s=4.0)
    try:
        with storage.object_lock(output, "nanoemox-extract"):
            time.sleep(1.5)  # heartbeats keep it fresh
            with (
                pytest.raises(storage.StorageError, match=r"locked/meld/test: nanoemox-extract \(pid"),
                storage.object_lock(output, "nanoemox-extract"),
            ):
                pass
        assert not s3.exists(f"{BUCKET}/locked/meld/test.lock")  # released
        s3.pipe_file(f"{BUCKET}/locked/meld/test.lock", b"nanoemox-score (pid 1 on a killed host) token x")
        with (
            pytest.raises(storage.StorageError, match="a killed host"),
            storage.object_lock(output, "nanoemox-extract"),
        ):
            pass
        time.sleep(5)  # no heartbeat: abandoned
        with storage.object_lock(output, "nanoemox-extract"):
            assert b"nanoemox-extract" in s3.cat_file(f"{BUCKET}/locked/meld/test.lock")
    finally:
        storage.configure()
