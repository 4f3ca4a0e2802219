"""Face crops for FaceXFormer: detect on downscaled frames, keep the largest face, enlarge the box, resize.

Detection is one batched call for all frames of several clips of the same size (one call per size: padding to a
common canvas would change the boxes, so a clip's faces would depend on its batch), on the CPU or on the encoder's
GPU. Detectors: MTCNN from facenet-pytorch (weights ship in its wheel;
FaceXFormer's own choice) or OpenCV's Haar cascade (weights ship in opencv-python-headless; no torch model).
A frame with no face gets an all-zero crop and mask 0.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from nanoemox.config import PipelineConfig
from nanoemox.errors import NanoEmoXError
from nanoemox.extract.sampling import CROP_SIZE

log = logging.getLogger(__name__)
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
# Its metadata pins torch<2.3 (it runs on ours), so pip cannot install it as a dependency: `nanoemox setup --install`.
MTCNN_REQUIREMENT = "facenet-pytorch==2.6.0"


class MissingPackageError(NanoEmoXError):
    """A package the configured pipeline needs that `pip install nanoemox` cannot bring."""

    def __init__(self, requirement: str, message: str):
        super().__init__(message)
        self.requirement = requirement


class MTCNNDetector:
    def __init__(self, min_size: int, device: str = "cpu") -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise MissingPackageError(
                MTCNN_REQUIREMENT,
                f"facenet-pytorch is not installed: run `nanoemox setup --install` (it runs pip install --no-deps "
                f"{MTCNN_REQUIREMENT}), or choose --set extract.face_detector=opencv",
            ) from err
        self.min_size = min_size
        # channels-last weights make every layer's output channels-last, where the CPU max-pool is vectorised:
        # 6.6 -> 2.8 ms a frame on one core (bench/face_bench.py at 256/32), the same recall at every face size
        self.mtcnn = MTCNN(keep_all=True, device=device, min_face_size=min_size).to(memory_format=torch.channels_last)

    def detect(self, frames: torch.Tensor) -> list[list[Box]]:
        """frames: uint8 [n, h, w, 3] on the detector's device -> boxes per frame."""
        if min(frames.shape[1:3]) < self.min_size:  # too small for one pyramid level (MTCNN would fail)
            return [[] for _ in frames]
        # MTCNN permutes to [n, 3, h, w]: planar memory makes that view contiguous, so the candidate crops it resizes
        # one by one are too (15% faster, the same boxes)
        planar = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
        boxes, _ = self.mtcnn.detect(planar)
        return [[] if b is None else [tuple(map(float, box)) for box in np.asarray(b, float)] for b in boxes]


class OpenCVDetector:
    def __init__(self, min_size: int, device: str = "cpu") -> None:
        self.min_size = (min_size, min_size)
        import cv2

        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self.cascade.empty():
            raise NanoEmoXError("OpenCV has no Haar cascade files (opencv 5 dropped them); install opencv<5")

    def detect(self, frames: torch.Tensor) -> list[list[Box]]:
        found = []
        for frame in frames.cpu().numpy():
            gray = self.cv2.cvtColor(frame, self.cv2.COLOR_RGB2GRAY)
            rects = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=self.min_size)
            found.append([(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in rects])
        return found


DETECTORS = {"mtcnn": MTCNNDetector, "opencv": OpenCVDetector}


def ensure_detector(name: str, min_size: int, install: bool = False) -> None:
    """Build the detector (loading its weights); with `install`, pip-install a missing package first."""
    try:
        DETECTORS[name](min_size)
    except MissingPackageError as err:
        if not install:
            raise
        command = [sys.executable, "-m", "pip", "install", "--no-deps", err.requirement]
        log.info("%s", " ".join(command[2:]))
        if subprocess.run(command).returncode != 0:
            message = f"could not install {err.requirement}; run: pip install --no-deps {err.requirement}"
            raise NanoEmoXError(message) from err
        importlib.invalidate_caches()
        DETECTORS[name](min_size)


def enlarge(box: Box, margin: float, width: int, height: int) -> Box:
    """Grow the box by `margin` (0.5 = 50%) around its centre, clamped to the frame."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = (x2 - x1) * (1 + margin) / 2, (y2 - y1) * (1 + margin) / 2
    return max(0.0, cx - half_w), max(0.0, cy - half_h), min(float(width), cx + half_w), min(float(height), cy + half_h)


def resize_frames(images: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """uint8 [n, h, w, 3] -> uint8 [n, size[0], size[1], 3], antialiased (torch's uint8 fast path on the CPU)."""
    x = images.permute(0, 3, 1, 2)  # channels-last memory, as the uint8 kernels want
    if x.device.type != "cpu":
        x = F.interpolate(x.float(), size=size, mode=mode, antialias=True).round().clamp(0, 255).to(torch.uint8)
    else:
        x = F.interpolate(x, size=size, mode=mode, antialias=True)
    return x.permute(0, 2, 3, 1)


class FaceCropper:
    """Clips of frames uint8 [n, h, w, 3] (sizes may differ between clips) -> per clip crops uint8
    [n, 224, 224, 3] and mask bool [n] (True where a face was found), with one detector call for all frames."""

    def __init__(self, detector: str, detect_size: int, margin: float, min_size: int = 32, device: str = "cpu"):
        self.device = torch.device(device)
        self.detector = DETECTORS[detector](min_size, str(self.device))
        self.detect_size, self.margin = detect_size, margin

    @torch.inference_mode()
    def __call__(self, clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        frames = [torch.from_numpy(np.ascontiguousarray(c)).to(self.device) for c in clips]
        return [self._crop(f, boxes) for f, boxes in zip(frames, self._detect(frames), strict=True)]

    @torch.inference_mode()
    def detect(self, clips: list[np.ndarray]) -> list[list[list[Box]]]:
        """Boxes per frame per clip, in the clip's own pixels."""
        return self._detect([torch.from_numpy(np.ascontiguousarray(c)) for c in clips])

    def _detect(self, frames: list[torch.Tensor]) -> list[list[list[Box]]]:
        scales = [min(1.0, self.detect_size / max(f.shape[1:3])) for f in frames]
        small = [
            resize_frames(f, (max(1, round(f.shape[1] * s)), max(1, round(f.shape[2] * s))), "bilinear") if s < 1 else f
            for f, s in zip(frames, scales, strict=True)
        ]
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, f in enumerate(small):
            by_size.setdefault(tuple(f.shape[1:3]), []).append(i)
        found: list[list[list[Box]]] = [[] for _ in frames]
        for clips in by_size.values():
            boxes = self.detector.detect(torch.cat([small[i] for i in clips]))
            for i in clips:
                found[i], boxes = boxes[: len(small[i])], boxes[len(small[i]) :]
        return [
            [[tuple(v / scale for v in box) for box in boxes] for boxes in clip_boxes]
            for clip_boxes, scale in zip(found, scales, strict=True)
        ]

    def _crop(self, frames: torch.Tensor, found: list[list[Box]]) -> tuple[np.ndarray, np.ndarray]:
        height, width = frames.shape[1:3]
        crops = torch.zeros((len(frames), CROP_SIZE, CROP_SIZE, 3), dtype=torch.uint8, device=self.device)
        mask = np.zeros(len(frames), dtype=bool)
        for i, boxes in enumerate(found):
            if not boxes:
                continue
            largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            x1, y1, x2, y2 = (round(v) for v in enlarge(largest, self.margin, width, height))
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            crops[i] = resize_frames(frames[i : i + 1, y1:y2, x1:x2], (CROP_SIZE, CROP_SIZE), "bicubic")[0]
            mask[i] = True
        return crops.cpu().numpy(), mask


def face_cropper(cfg: PipelineConfig, device: str = "cpu") -> FaceCropper:
    ext = cfg.extract
    return FaceCropper(ext.face_detector, ext.detect_size, ext.face_margin, ext.face_min_size, device)
