"""A real Ray cluster: `ray start --head` in its own process group, extraction and scoring sent to it with --address."""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nanoemox.cli.train import main as train_main

from helpers import write_meld_corpus

pytestmark = pytest.mark.cluster
BIN = Path(sys.executable).parent
RAY_NOISE = ("WARNING", "deprecated", "Token authentication", "Starting execution", "Execution plan")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture
def ray_head():
    """A one-node cluster with 2 CPUs; stopped through its own `ray start --block` process, so no other Ray on
    the machine is touched (`ray stop` stops every Ray of the user)."""
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    gcs, client, agent, metrics = free_ports(4)
    command = [str(BIN / "ray"), "start", "--head", "--block", f"--port={gcs}", f"--temp-dir={temp}"]
    command += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    command += [f"--ray-client-server-port={client}", f"--dashboard-agent-listen-port={agent}"]
    command += [f"--metrics-export-port={metrics}"]
    (temp / "token").write_text(secrets.token_hex(32))  # a secured cluster, as on a shared network
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(temp / "token")}
    log = (temp / "head.out").open("w")
    head = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ | auth
    )
    try:
        deadline = time.monotonic() + 180
        while not list(temp.glob("session_*/logs/raylet.out")) or not port_open(gcs):
            assert head.poll() is None, (temp / "head.out").read_text()
            assert time.monotonic() < deadline, "the Ray head did not come up in 180 s"
            time.sleep(1)
        yield f"127.0.0.1:{gcs}", temp, auth
    finally:
        head.terminate()  # `ray start --block` stops the processes it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # anything of that node still in its process group
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def drivers(temp: Path) -> int:
    """Driver log files on the cluster (each job that connects adds its core-worker logs)."""
    return len(list(temp.glob("session_*/logs/python-core-driver-*.log")))


def command(name: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / name), *args], cwd=cwd, env=os.environ | env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def test_extract_and_score_on_a_ray_cluster(ray_head, tmp_path):
    address, temp, auth = ray_head
    corpus, shards, heads = tmp_path / "meld", tmp_path / "shards", tmp_path / "heads"
    write_meld_corpus(corpus, [{"emotion": e, "seconds": 2.0} for e in ("joy", "anger")], split="train")
    write_meld_corpus(corpus, [{"emotion": e, "seconds": 2.0} for e in ("joy", "sadness")], split="test")
    extract = ["--dataset", "meld", "--root", str(corpus), "--out", str(shards), "--preset", "tiny"]
    before = drivers(temp)
    done = command("nanoemox-extract", *extract, "--address", address, cwd=tmp_path, env=auth)
    assert "meld/train: 2 clips written" in done.stdout and "meld/test: 2 clips written" in done.stdout
    assert drivers(temp) > before  # the job ran on the cluster, not on a Ray of its own
    before = drivers(temp)
    assert "\r" not in done.stderr and "extract meld: 4/4" in done.stderr  # plain progress lines, not redraws
    assert not [line for line in done.stderr.splitlines() if any(word in line for word in RAY_NOISE)]
    assert "Starting execution" in (shards / "ray.log").read_text()  # Ray's own lines went to the output folder

    steps = [f"train.phases.{p}.steps=1" for p in ("1-speech", "1-visual", "2", "3")]
    mix = ["train.phases.3.tasks={mer: 1}", "train.phases.3.datasets={mer: [meld]}", "train.batch_size=2", *steps]
    sets = [item for o in mix for item in ("--set", o)]
    train = ["--strategy", "joint", "--features", str(shards), "--out", str(heads), "--preset", "tiny"]
    assert train_main([*train, *sets]) == 0

    score = ["--run", str(heads / "joint"), "--features", str(shards), "--dataset", "meld", "--task", "mer"]
    done = command("nanoemox-score", *score, "--address", address, cwd=tmp_path, env=auth)
    assert "meld/test: 2 predictions written" in done.stdout
    assert drivers(temp) > before
    predictions = heads / "joint" / "predictions"
    assert len((predictions / "meld-test.jsonl").read_text().splitlines()) == 2
    assert (predictions / "ray.log").is_file()
    assert not [line for line in done.stderr.splitlines() if any(word in line for word in RAY_NOISE)]
