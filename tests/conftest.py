"""Shared fixtures: the tiny preset, a fresh tiny model, random features, and the shared reference files."""

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from nanoemox.config import PipelineConfig, cached_layers, load_config
from nanoemox.model import NanoEmoX, present_modalities
from nanoemox.model.inputs import TextBatch
from nanoemox.model.prompts import build_prompt
from nanoemox.shards.sample import ModalityFeatures

from helpers import encode_for_training


@pytest.fixture
def tiny_cfg() -> PipelineConfig:
    return load_config(preset="tiny")


def make_model(cfg: PipelineConfig, seed: int = 0) -> NanoEmoX:
    torch.manual_seed(seed)
    return NanoEmoX.from_config(cfg.model).eval()


def make_features(
    cfg: PipelineConfig, batch: int = 3, has_video=None, has_audio=None, face_mask=None, seed: int = 0
) -> ModalityFeatures:
    """Random features shaped like a shard batch (float16, as stored)."""
    g = torch.Generator().manual_seed(seed)
    enc, heads = cfg.model.encoders, cfg.model.heads
    clip = torch.randn(batch, heads.frames, len(cached_layers(enc.clip)), enc.clip.hidden_size, generator=g)
    hubert = torch.randn(batch, heads.windows, len(cached_layers(enc.hubert)), enc.hubert.hidden_size, generator=g)
    face = torch.randn(batch, heads.frames, enc.face.out_dim, generator=g)
    return ModalityFeatures(
        clip=clip.half(),
        hubert=hubert.half(),
        face=face.half(),
        face_mask=torch.ones(batch, heads.frames, dtype=torch.bool) if face_mask is None else face_mask,
        has_video=torch.ones(batch, dtype=torch.bool) if has_video is None else has_video,
        has_audio=torch.ones(batch, dtype=torch.bool) if has_audio is None else has_audio,
    )


def text_batch(
    model: NanoEmoX,
    features: ModalityFeatures,
    task: str = "mer",
    answer: str = "The character's emotional state is happy.",
) -> tuple[list[str], TextBatch]:
    """Prompts for the modalities each sample has, tokenized with the answer."""
    present = present_modalities(features, model.cfg.heads.modalities)
    prompts = [build_prompt(task, p, model.token_counts, "hello", ["happy", "sad"]) for p in present]
    return prompts, encode_for_training(model.tokenizer, prompts, [answer] * len(prompts), model.cfg.lm.max_length)


@pytest.fixture
def tiny_model(tiny_cfg) -> NanoEmoX:
    return make_model(tiny_cfg)


REFERENCE = Path(
    os.environ.get("NANOEMOX_REFERENCE", Path(__file__).resolve().parents[1].parent / "shared" / "reference")
)


@pytest.fixture
def reference() -> Path:
    """../shared/reference: real annotation files, read in place and never copied into the repository."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference files not found at {REFERENCE}")
    return REFERENCE


def link_files(root: Path, mapping: dict[str, Path]) -> Path:
    """Lay out a dataset root whose annotation files are symlinks to reference files."""
    for name, target in mapping.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    return root


LLM_KEY_ENV, LLM_KEY = "NANOEMOX_TEST_LLM_KEY", "sk-test-SECRET-0123456789"


@dataclass
class FakeLLM:
    """A local OpenAI-compatible server: `script` holds (status, delay_s) per request, then 200s after
    `latency_s`; refusals carry `retry_after` when set. `peak` is the most requests it held at once."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    script: list[tuple[int, float]] = field(default_factory=list)
    responder: Callable[[str], str] = lambda prompt: "ok"
    latency_s: float = 0.0
    retry_after: str | None = None
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve_llm(state: FakeLLM) -> ThreadingHTTPServer:
    """Serve `state` over HTTP on a free local port, in a daemon thread (shut it down when done)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                arrived = {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                state.requests.append(arrived | {"at": time.monotonic()})
                status, delay = state.script.pop(0) if state.script else (200, state.latency_s)
                state.active += 1
                state.peak = max(state.peak, state.active)
            time.sleep(delay)
            with state.lock:
                state.active -= 1
            if status == 200:
                content = state.responder(body["messages"][-1]["content"])
                payload = {"choices": [{"message": {"role": "assistant", "content": content}}]}
            else:  # servers may echo the key they were sent: the client must not pass it on
                payload = {"error": {"message": f"failed for {self.headers.get('Authorization')}"}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                if status != 200 and state.retry_after is not None:
                    self.send_header("Retry-After", state.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up on this request (timeout test)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # many clients connect at once
        block_on_close = False  # closing does not wait for a request still sleeping

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}/v1"
    return server


@pytest.fixture
def llm_servers(monkeypatch) -> Iterator[Callable[[], FakeLLM]]:
    """Start local OpenAI-compatible servers on demand (the test key set in the environment); all stop after."""
    monkeypatch.setenv(LLM_KEY_ENV, LLM_KEY)
    servers = []

    def start() -> FakeLLM:
        state = FakeLLM()
        servers.append(serve_llm(state))
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_llm(llm_servers) -> FakeLLM:
    return llm_servers()
