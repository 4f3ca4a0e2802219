"""Where the 8 frames and the 8 audio windows of a clip come from (DESIGN: uniform frames, 2 s windows)."""

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SECONDS = 2.0


def frame_times(start: float, end: float, count: int) -> list[float]:
    """Centres of `count` equal segments of [start, end): uniform sampling that never hits the last edge."""
    span = max(end - start, 0.0)
    return [start + (i + 0.5) * span / count for i in range(count)]


def frame_indices(total: int, count: int) -> list[int]:
    """Uniform indices into `total` frames; short clips repeat frames so there are always `count`."""
    return [min(total - 1, int((i + 0.5) * total / count)) for i in range(count)]


def audio_windows(samples: np.ndarray, count: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """float32 [count, 2 s]: windows evenly spaced over the clip (overlapping when short, zero-padded under 2 s),
    each normalised to zero mean and unit variance over its real samples, as Wav2Vec2FeatureExtractor does."""
    width = int(WINDOW_SECONDS * rate)
    starts = np.linspace(0, max(len(samples) - width, 0), count).round().astype(int)
    windows = np.zeros((count, width), dtype=np.float32)
    for i, begin in enumerate(starts):
        piece = samples[begin : begin + width].astype(np.float32)
        windows[i, : len(piece)] = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-7)
    return windows
