import numpy as np
import pytest
import torch

from nanoemox.extract.sampling import audio_windows, frame_indices, frame_times


def test_frame_indices_are_uniform_and_repeat_for_short_clips():
    assert frame_indices(80, 8) == [5, 15, 25, 35, 45, 55, 65, 75]
    assert frame_indices(3, 8) == [0, 0, 0, 1, 1, 2, 2, 2]
    assert frame_times(0.0, 8.0, 4) == [1.0, 3.0, 5.0, 7.0]
    assert frame_times(2.0, 4.0, 2) == [2.5, 3.5]


def test_audio_windows_cover_the_clip_and_are_normalised():
    rate = 16000
    samples = np.arange(10 * rate, dtype=np.float32)  # 10 s ramp: window k starts at k * 8/7 s
    windows = audio_windows(samples, 8, "window")
    assert windows.shape == (8, 2 * rate)
    assert np.allclose(windows.mean(axis=1), 0, atol=1e-3) and np.allclose(windows.std(axis=1), 1, atol=1e-3)
    last = samples[-2 * rate :]
    assert np.allclose(windows[-1], (last - last.mean()) / last.std(), atol=1e-3)


def test_short_audio_is_zero_padded_not_stretched():
    samples = np.random.default_rng(0).standard_normal(8000).astype(np.float32)  # 0.5 s
    windows = audio_windows(samples, 8, "window")
    assert np.all(windows[:, 8000:] == 0)
    assert np.allclose(windows[0, :8000].std(), 1, atol=1e-3)
    assert all(np.array_equal(windows[0], w) for w in windows)  # every window is the whole clip


@pytest.mark.parametrize("seconds", [2.0, 3.0])
def test_windows_overlap_when_the_clip_is_short(seconds):
    samples = np.random.default_rng(1).standard_normal(int(seconds * 16000)).astype(np.float32)
    windows = audio_windows(samples, 8, "window")
    assert not np.any(np.all(windows == 0, axis=1))


@pytest.mark.parametrize("seconds", [0.5, 3.0, 10.0])
def test_clip_normalisation_is_the_published_feature_extractor_at_batch_size_1(seconds):
    from transformers import Wav2Vec2FeatureExtractor

    rate, width = 16000, 32000
    samples = (np.random.default_rng(2).standard_normal(int(seconds * rate)) * 0.1 + 0.05).astype(np.float32)
    padded = np.pad(samples, (0, max(width - len(samples), 0)))  # the published load_audio pads to 2 s first
    starts = np.linspace(0, len(padded) - width, 8).round().astype(int)
    raw = np.stack([padded[s : s + width] for s in starts])
    # HUBERT_LARGE_Plus.forward hands the [windows, samples] torch tensor over, which the extractor takes as one example
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
    published = extractor(torch.from_numpy(raw), sampling_rate=rate, return_tensors="np")
    ours = audio_windows(samples, 8, "clip")
    assert np.allclose(ours, published.input_values[0], atol=1e-4)
    assert abs(ours.mean()) < 1e-4 and abs(ours.std() - 1) < 1e-3
