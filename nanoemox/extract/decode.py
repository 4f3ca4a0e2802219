"""Decoding a record's media into frames and 16 kHz mono audio, with decord or torchcodec (in the decode stage's
worker process, under its timeout).

Media come as video files (with or without an audio track), separate audio files, folders of frame images
(FERV39K), or a [start, end) segment of a longer file (IEMOCAP sessions, raw MOSI/MOSEI videos).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nanoemox.datasets.record import Record
from nanoemox.errors import NanoEmoXError, first_line
from nanoemox.extract.sampling import SAMPLE_RATE, frame_indices, frame_times

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class DecodeError(NanoEmoXError):
    """A clip that cannot be decoded (corrupt, unreadable, or the decoder hung)."""


@dataclass
class DecodedClip:
    frames: np.ndarray | None  # uint8 [count, height, width, 3] at the source resolution
    audio: np.ndarray | None  # float32 [samples] mono 16 kHz, None when there is no audio track
    meta: dict[str, Any] = field(default_factory=dict)


class DecordBackend:
    """decord: the product card's choice; bundles FFmpeg 4.1, unmaintained, may hang (hence the timeout)."""

    name = "decord"

    def frames(
        self, path: str, start: float | None, end: float | None, count: int, sampling: str
    ) -> tuple[np.ndarray | None, dict]:
        import decord

        try:
            reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        except decord.DECORDError as err:
            if "video stream" in str(err):  # an audio-only file
                return None, {}
            raise
        fps, total = reader.get_avg_fps(), len(reader)
        first = int((start or 0.0) * fps)
        last = min(total, int(np.ceil(end * fps))) if end is not None else total
        if last <= first:
            raise DecodeError(f"{path}: segment {start}-{end} s is outside the video ({total / fps:.2f} s)")
        indices = [first + i for i in frame_indices(last - first, count, sampling)]
        frames = reader.get_batch(indices).asnumpy()
        return frames, {"fps": float(fps), "source_frames": last - first, "duration_s": (last - first) / fps}

    def audio(self, path: str, start: float | None, end: float | None) -> np.ndarray | None:
        import decord

        try:
            reader = decord.AudioReader(path, ctx=decord.cpu(0), sample_rate=SAMPLE_RATE, mono=True)
        except decord.DECORDError as err:
            if "audio stream" in str(err):
                return None
            raise
        samples = reader[:].asnumpy()[0]
        return _cut(samples, start, end)


class TorchCodecBackend:
    """torchcodec: maintained, links the system FFmpeg."""

    name = "torchcodec"

    def frames(
        self, path: str, start: float | None, end: float | None, count: int, sampling: str
    ) -> tuple[np.ndarray | None, dict]:
        from torchcodec.decoders import VideoDecoder

        try:
            decoder = VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=1)
        except (ValueError, RuntimeError) as err:
            if "video stream" in str(err):  # an audio-only file
                return None, {}
            raise
        meta = decoder.metadata
        duration = float(meta.duration_seconds or 0.0)
        begin = start or 0.0
        stop = min(end, duration) if end is not None else duration
        if stop <= begin:
            raise DecodeError(f"{path}: segment {start}-{end} s is outside the video ({duration:.2f} s)")
        last = max(begin, stop - 1e-3)
        times = [min(t, last) for t in frame_times(begin, stop, count, sampling)]
        frames = decoder.get_frames_played_at(times).data.numpy()
        fps = float(meta.average_fps or 0.0)
        return frames, {"fps": fps, "source_frames": round((stop - begin) * fps), "duration_s": stop - begin}

    def audio(self, path: str, start: float | None, end: float | None) -> np.ndarray | None:
        from torchcodec.decoders import AudioDecoder

        try:
            decoder = AudioDecoder(path, sample_rate=SAMPLE_RATE, num_channels=1)
        except (ValueError, RuntimeError) as err:
            if "audio stream" in str(err):
                return None
            raise
        samples = decoder.get_all_samples().data[0].numpy()
        return _cut(samples, start, end)


BACKENDS = {"decord": DecordBackend, "torchcodec": TorchCodecBackend}


def _cut(samples: np.ndarray, start: float | None, end: float | None) -> np.ndarray:
    first = int((start or 0.0) * SAMPLE_RATE)
    last = int(end * SAMPLE_RATE) if end is not None else len(samples)
    return samples[first:last].astype(np.float32)


def _frames_from_folder(folder: Path, count: int, sampling: str) -> tuple[np.ndarray, dict]:
    from PIL import Image

    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DecodeError(f"{folder}: no frame images ({', '.join(IMAGE_SUFFIXES)})")
    picked = [images[i] for i in frame_indices(len(images), count, sampling)]
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in picked]
    if len({f.shape for f in frames}) > 1:
        frames = [np.asarray(Image.fromarray(f).resize(frames[0].shape[1::-1])) for f in frames]
    return np.stack(frames), {"source_frames": len(images)}


def decode_clip(record: Record, backend: str, count: int, sampling: str = "centre") -> DecodedClip:
    """Frames and audio of one record; missing streams are None, any other failure a DecodeError."""
    impl = BACKENDS[backend]()
    for path in record.media_paths():
        if not Path(path).exists():
            raise DecodeError(f"{path}: file not found")
    frames, meta = None, {"backend": backend}
    try:
        if record.frames_dir:
            frames, info = _frames_from_folder(Path(record.frames_dir), count, sampling)
            meta.update(info)
        elif record.video:
            frames, info = impl.frames(record.video, record.start, record.end, count, sampling)
            meta.update(info)
        audio = impl.audio(record.audio, record.start, record.end) if record.audio else None
    except DecodeError:
        raise
    except Exception as err:  # decoders raise their own types; all mean "this file cannot be decoded"
        path = record.video or record.audio or record.frames_dir
        raise DecodeError(f"{path}: cannot decode ({type(err).__name__}: {first_line(err)})") from err
    if audio is not None:
        meta["audio_s"] = len(audio) / SAMPLE_RATE
        if len(audio) == 0 or float(np.abs(audio).max()) < 1e-4:
            meta["audio"] = "silent"
            audio = None
    return DecodedClip(frames=frames, audio=audio, meta=meta)
