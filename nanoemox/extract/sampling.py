"""Where the 8 frames and the 8 audio windows of a clip come from (DESIGN: uniform frames, 2 s windows), and the
size of its face crops."""

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SECONDS = 2.0
CROP_SIZE = 224  # FaceXFormer's input


def frame_times(start: float, end: float, count: int, mode: str = "centre") -> list[float]:
    """Uniform times in [start, end): `centre` the middles of `count` equal segments, `floor` their starts."""
    span = max(end - start, 0.0)
    offset = 0.5 if mode == "centre" else 0.0
    return [start + (i + offset) * span / count for i in range(count)]


def frame_indices(total: int, count: int, mode: str = "centre") -> list[int]:
    """Uniform indices into `total` frames; short clips repeat frames so there are always `count`.
    `centre`: int((i + 0.5) * total / count). `floor`: the published code's arange(0, total, total / count)
    cast to int (all frames of a shorter clip, then its last one repeated)."""
    if mode == "centre":
        return [min(total - 1, int((i + 0.5) * total / count)) for i in range(count)]
    indices = np.arange(0, total, total / min(count, total)).astype(int).tolist()[:count]
    return indices + [indices[-1]] * (count - len(indices))


def audio_windows(samples: np.ndarray, count: int, norm: str = "clip", rate: int = SAMPLE_RATE) -> np.ndarray:
    """float32 [count, 2 s]: windows evenly spaced over the clip (overlapping when short, zero-padded under 2 s),
    normalised to zero mean and unit variance as Wav2Vec2FeatureExtractor does: `clip` over all the windows
    together, padding included (the published code at batch size 1), `window` each over its real samples."""
    width = int(WINDOW_SECONDS * rate)
    starts = np.linspace(0, max(len(samples) - width, 0), count).round().astype(int)
    windows = np.zeros((count, width), dtype=np.float32)
    for i, begin in enumerate(starts):
        piece = samples[begin : begin + width].astype(np.float32)
        if norm == "window":
            piece = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-7)
        windows[i, : len(piece)] = piece
    if norm == "clip":
        windows = (windows - windows.mean()) / np.sqrt(windows.var() + 1e-7)
    return windows.astype(np.float32)
