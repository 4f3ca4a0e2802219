import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nanoemox.datasets.record import Record
from nanoemox.demo.media import clip_frames, voice, write_clip
from nanoemox.extract.decode import BACKENDS, DecodeError, decode_clip


def record(video=None, audio=None, **kw) -> Record:
    return Record(id="c", dataset="test", split="test", video=video, audio=audio, **kw)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return {
        "av": str(write_clip(root / "av.mp4", 3.0, audio=voice(3.0))),
        "mute": str(write_clip(root / "mute.mp4", 1.0)),
        "short": str(write_clip(root / "short.mp4", 0.4, fps=10, audio=voice(0.4))),
        "silent": str(write_clip(root / "silent.mp4", 2.0, audio=np.zeros(32000, np.float32))),
    }


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_video_with_audio(clips, backend):
    out = decode_clip(record(clips["av"], clips["av"]), backend, 8)
    assert out.frames.shape == (8, 256, 256, 3) and out.frames.dtype == np.uint8
    assert abs(len(out.audio) / 16000 - 3.0) < 0.05
    assert out.meta["fps"] == 10.0 and out.meta["backend"] == backend


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_segment_start_end(clips, backend):
    out = decode_clip(record(clips["av"], clips["av"], start=1.0, end=2.0), backend, 8)
    assert out.frames.shape[0] == 8
    assert len(out.audio) == 16000
    assert abs(out.meta["duration_s"] - 1.0) < 0.11


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_no_audio_track_short_clip_and_silence(clips, backend):
    assert decode_clip(record(clips["mute"], clips["mute"]), backend, 8).audio is None
    short = decode_clip(record(clips["short"], clips["short"]), backend, 8)
    assert short.frames.shape[0] == 8 and short.meta["source_frames"] < 8  # 4 frames, repeated
    silent = decode_clip(record(clips["silent"], clips["silent"]), backend, 8)
    assert silent.audio is None and silent.meta["audio"] == "silent"


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_audio_only_wav(tmp_path, backend):
    path = tmp_path / "speech.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes((voice(1.5) * 32767).astype("<i2").tobytes())
    out = decode_clip(record(audio=str(path)), backend, 8)
    assert out.frames is None and len(out.audio) == 24000


def test_frame_folder(tmp_path):
    for i, frame in enumerate(clip_frames(0.5, 10, 64)):
        Image.fromarray(frame).save(tmp_path / f"{i:03d}.png")
    out = decode_clip(record(frames_dir=str(tmp_path)), "decord", 8)
    assert out.frames.shape == (8, 64, 64, 3) and out.meta["source_frames"] == 5


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_corrupt_missing_and_unreadable_files_name_the_path(clips, tmp_path, backend):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(Path(clips["av"]).read_bytes()[:1500])
    with pytest.raises(DecodeError, match="corrupt.mp4: cannot decode"):
        decode_clip(record(str(corrupt), str(corrupt)), backend, 8)
    with pytest.raises(DecodeError, match="nothere.mp4: file not found"):
        decode_clip(record(str(tmp_path / "nothere.mp4")), backend, 8)
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    with pytest.raises(DecodeError, match="folder.mp4: cannot decode"):
        decode_clip(record(str(folder), str(folder)), backend, 8)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("suffix", [".avi", ".flv", ".mkv"])
def test_other_containers(tmp_path, backend, suffix):
    path = str(write_clip(tmp_path / f"clip{suffix}", 2.0, size=128, audio=voice(2.0)))
    out = decode_clip(record(path, path), backend, 8)
    assert out.frames.shape == (8, 128, 128, 3)
    assert abs(len(out.audio) / 16000 - 2.0) < 0.15  # AAC priming and padding
