import numpy as np

from nanoemox.config import cached_layers
from nanoemox.extract.features import FeatureEncoder
from nanoemox.extract.sampling import audio_windows


def test_tiny_features_have_the_contract_shapes(tiny_cfg):
    enc = tiny_cfg.model.encoders
    encoder = FeatureEncoder(enc)
    frames = np.random.default_rng(0).integers(0, 255, (2, 8, 256, 256, 3), dtype=np.uint8)
    clip = encoder.frames(frames)
    assert clip.shape == (2, 8, len(cached_layers(enc.clip)), enc.clip.hidden_size) and clip.dtype == np.float16
    hubert = encoder.speech(np.random.default_rng(0).standard_normal((2, 8, 32000)).astype(np.float32))
    assert hubert.shape == (2, 8, len(cached_layers(enc.hubert)), enc.hubert.hidden_size)
    mask = np.array([[True] * 4 + [False] * 4, [False] * 8])
    face = encoder.faces(np.full((2, 8, 224, 224, 3), 128, np.uint8), mask)
    assert face.shape == (2, 8, enc.face.out_dim)
    assert np.abs(face[0, :4]).sum() > 0 and not face[0, 4:].any() and not face[1].any()


def test_random_init_encoders_agree_across_instances(tiny_cfg):
    frames = np.random.default_rng(1).integers(0, 255, (1, 8, 224, 224, 3), dtype=np.uint8)
    first = FeatureEncoder(tiny_cfg.model.encoders).frames(frames)
    assert np.array_equal(first, FeatureEncoder(tiny_cfg.model.encoders).frames(frames))


def test_a_clips_speech_features_do_not_depend_on_its_batch_mates(tiny_cfg):
    rng = np.random.default_rng(3)
    clips = [
        audio_windows((rng.standard_normal(16000 * s) * g).astype(np.float32), 8)
        for s, g in ((3, 1), (5, 9), (1, 0.01))
    ]
    encoder = FeatureEncoder(tiny_cfg.model.encoders)
    alone = encoder.speech(np.stack(clips[:1]))[0]
    together = encoder.speech(np.stack(clips))[0]
    assert np.allclose(alone.astype(np.float32), together.astype(np.float32), atol=2e-3)
