"""Synthetic clips (a real face photo moved and tinted, a voiced tone): the demo corpus, and the tests' clips."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

VIDEO_CODECS = {".mp4": "libx264", ".mkv": "libx264", ".avi": "mpeg4", ".flv": "flv"}


@lru_cache(maxsize=1)
def _face_photo() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()  # 512x512 RGB portrait with a real face


def clip_frames(
    seconds: float,
    fps: int,
    size: int,
    face: bool = True,
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
    seed: int = 0,
) -> np.ndarray:
    """uint8 [frames, size, size, 3]: the photo drifting across a noisy background, colour-scaled by `tint`."""
    rng = np.random.default_rng(seed)
    count = max(1, round(seconds * fps))
    photo = _face_photo()
    scale = size / photo.shape[0]
    small = photo[:: max(1, round(1 / scale)), :: max(1, round(1 / scale))][: int(size * 0.8), : int(size * 0.8)]
    frames = np.empty((count, size, size, 3), dtype=np.uint8)
    for i in range(count):
        canvas = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        if face:
            shift = int((size - small.shape[0]) * (0.5 + 0.4 * np.sin(2 * np.pi * i / count)))
            canvas[shift // 2 : shift // 2 + small.shape[0], shift : shift + small.shape[1]] = small
        frames[i] = np.clip(canvas * np.array(tint), 0, 255).astype(np.uint8)
    return frames


def voice(seconds: float, pitch_hz: float = 180.0, energy: float = 0.3, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """float32 mono: a harmonic tone with syllable-like amplitude modulation and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * pitch_hz * k * t) / k for k in (1, 2, 3))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (energy * tone * envelope / 1.8 + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_clip(
    path: str | Path,
    seconds: float = 3.0,
    fps: int = 10,
    size: int = 256,
    audio: np.ndarray | None = None,
    face: bool = True,
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
    seed: int = 0,
    lossless: bool = False,
    shape: tuple[int, int] | None = None,
    video: bool = True,
) -> Path:
    """Write a clip with PyAV: the container from the suffix (mp4, mkv, avi, flv), AAC 16 kHz mono audio if given;
    `lossless` (H.264 only) makes the decoded pixels the same on every run, for a reproducible demo. `shape`
    (width, height) squeezes the square frames to another size; `video=False` writes the audio track only."""
    import av  # here, so records and feature shards can be made where PyAV is not installed (bench/gpu_bench.py)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        options = {"qp": "0"} if lossless else {}  # lossy x264 output varies from run to run; lossless does not
        if video:
            stream = container.add_stream(VIDEO_CODECS[path.suffix], rate=fps, options=options)
            stream.width, stream.height = shape or (size, size)
            stream.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=16000, layout="mono") if audio is not None else None
        for frame in clip_frames(seconds, fps, size, face, tint, seed) if video else []:
            if shape:
                frame = np.asarray(Image.fromarray(frame).resize(shape))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if video:
            container.mux(stream.encode())
        if sound is not None:
            samples = audio.reshape(1, -1).astype(np.float32)
            step = 1024
            for start in range(0, samples.shape[1], step):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + step]), format="fltp", layout="mono"
                )
                chunk.sample_rate = 16000
                chunk.pts = start
                chunk.time_base = Fraction(1, 16000)
                container.mux(sound.encode(chunk))
            container.mux(sound.encode())
    return path
