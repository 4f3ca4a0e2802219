"""Synthetic clips (a real face photo moved and tinted, a voiced tone) for tests, benchmarks and the demo."""

from __future__ import annotations

from collections.abc import Callable
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


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"


def write_meld_corpus(root: Path, clips: list[dict], split: str = "test") -> Path:
    """A MELD-format corpus: `{split}_sent_emo.csv` plus generated mp4 clips.

    Each dict may set seconds, fps, size, shape ((width, height)), audio (bool), video (bool), face (bool),
    emotion, dialogue and utterance (the clip's ids, default i and 0), and `file` ("ok", "corrupt", "missing",
    "dir").
    """
    from nanoemox.datasets.readers.meld import CLIP_FOLDERS

    folder = root / CLIP_FOLDERS[split]
    folder.mkdir(parents=True, exist_ok=True)
    rows = [MELD_HEADER]
    for i, clip in enumerate(clips):
        emotion = clip.get("emotion", "joy")
        dialogue, utterance = clip.get("dialogue", i), clip.get("utterance", 0)
        rows.append(f"{i + 1},Line {i},Ann,{emotion},positive,{dialogue},{utterance},1,1,0,1")
        path, seconds = folder / f"dia{dialogue}_utt{utterance}.mp4", clip.get("seconds", 2.5)
        kind = clip.get("file", "ok")
        if kind == "ok":
            audio = voice(seconds, seed=i) if clip.get("audio", True) else None
            fps, size, face = clip.get("fps", 10), clip.get("size", 256), clip.get("face", True)
            shape, video = clip.get("shape"), clip.get("video", True)
            write_clip(path, seconds, fps, size, audio, face, seed=i, shape=shape, video=video)
        elif kind == "corrupt":
            write_clip(path, seconds, audio=voice(seconds), seed=i)
            path.write_bytes(path.read_bytes()[:1500])  # truncated: the index is missing
        elif kind == "dir":
            path.mkdir()
    (root / f"{split}_sent_emo.csv").write_text("\n".join(rows) + "\n")
    return root


def synthetic_record(dataset: str, split: str, index: int, label: int) -> dict:
    """A stored record whose labels (for the tasks `dataset` feeds) are all determined by `label`."""
    from nanoemox.datasets.labels import EMOTIONS, INTENTS
    from nanoemox.datasets.record import EmpathyChain, Labels, Record, Turn

    emotions = EMOTIONS.get(dataset, EMOTIONS["meld"])
    emotion = emotions[label % len(emotions)]
    labels = Labels(emotion=emotion)
    if dataset in INTENTS:
        labels = Labels(intent=INTENTS[dataset][label % len(INTENTS[dataset])])
    elif dataset == "mer-caption+":
        labels = Labels(ov_emotions=[emotion, "calm"], reason=f"The voice and face show {emotion}.")
    elif dataset == "avamerg":
        chain = EmpathyChain("a talk", emotion, "the news", "to comfort", f"I hear that you feel {emotion}.")
        labels = Labels(emotion=emotion, empathy=chain)
    record = Record(
        id=f"{dataset}_{split}_{index}",
        dataset=dataset,
        split=split,
        subtitle=f"clip {index}",
        dialogue=[Turn("user", "hello")] if dataset == "avamerg" else [],
        labels=labels,
    )
    return record.to_dict()


def write_feature_shards(
    out: str | Path,
    dataset: str,
    split: str,
    cfg,
    count: int,
    classes: int = 4,
    shard_size: int = 16,
    seed: int = 0,
    make_record: Callable[[str, str, int, int], dict] = synthetic_record,
) -> Path:
    """Shards of synthetic features in which each record's label is written as a fixed pattern plus noise,
    so a model can learn it: for training tests and benchmarks without decoding anything. `make_record`
    (dataset, split, index, label) -> stored record gives the texts (benchmarks use realistic lengths)."""
    from nanoemox.shards.contract import build_contract
    from nanoemox.shards.writer import ShardWriter

    rng = np.random.default_rng(seed)
    shapes = build_contract(cfg)["model"]
    patterns = {
        name: np.random.default_rng(99).standard_normal((classes, *shapes[name]["shape"]))
        for name in ("clip", "hubert", "face")
    }
    split_dir = Path(out) / dataset / split
    writer = ShardWriter(split_dir, build_contract(cfg), shard_size, dataset=dataset, split=split)
    for index in range(count):
        label = int(rng.integers(classes))
        arrays = {
            name: (pattern[label] + 0.5 * rng.standard_normal(pattern.shape[1:])).astype(np.float16)
            for name, pattern in patterns.items()
        }
        masks = {"has_video": True, "has_audio": True, "face": [True] * shapes["face"]["shape"][0]}
        record = make_record(dataset, split, index, label)
        writer.write(record["id"], {"record": record, "media": {}, "masks": masks}, arrays)
    writer.close()
    return split_dir
