"""Face crops for FaceXFormer: detect on downscaled frames, keep the largest face, enlarge the box, resize.

Detectors: MTCNN from facenet-pytorch (weights ship in its wheel; FaceXFormer's own choice) or OpenCV's
Haar cascade (a fallback needing no extra package). A frame with no face gets an all-zero crop and mask 0.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys

import numpy as np
from PIL import Image

from nanoemox.errors import NanoEmoXError

log = logging.getLogger(__name__)
CROP_SIZE = 224
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
# Its metadata pins torch<2.3 (it runs on ours), so pip cannot install it as a dependency: `nanoemox setup --install`.
MTCNN_REQUIREMENT = "facenet-pytorch==2.6.0"


class MissingPackageError(NanoEmoXError):
    """A package the configured pipeline needs that `pip install nanoemox` cannot bring."""

    def __init__(self, requirement: str, message: str):
        super().__init__(message)
        self.requirement = requirement


class MTCNNDetector:
    def __init__(self, min_size: int) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise MissingPackageError(
                MTCNN_REQUIREMENT,
                f"facenet-pytorch is not installed: run `nanoemox setup --install` (it runs pip install --no-deps "
                f"{MTCNN_REQUIREMENT}), or choose --set extract.face_detector=opencv",
            ) from err
        self.mtcnn = MTCNN(keep_all=True, device="cpu", min_face_size=min_size)

    def detect(self, frames: np.ndarray) -> list[list[Box]]:
        boxes, _ = self.mtcnn.detect(list(frames))  # frames: uint8 [n, h, w, 3], all the same size
        return [[] if b is None else [tuple(map(float, box)) for box in np.asarray(b).astype(float)] for b in boxes]


class OpenCVDetector:
    def __init__(self, min_size: int) -> None:
        self.min_size = (min_size, min_size)
        import cv2

        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self.cascade.empty():
            raise NanoEmoXError("OpenCV has no Haar cascade files (opencv 5 dropped them); install opencv<5")

    def detect(self, frames: np.ndarray) -> list[list[Box]]:
        found = []
        for frame in frames:
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


class FaceCropper:
    """frames uint8 [n, h, w, 3] -> crops uint8 [n, 224, 224, 3] and mask bool [n] (True where a face was found)."""

    def __init__(self, detector: str, detect_size: int, margin: float, min_size: int = 32):
        self.detector = DETECTORS[detector](min_size)
        self.detect_size, self.margin = detect_size, margin

    def __call__(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = frames.shape[1:3]
        scale = min(1.0, self.detect_size / max(height, width))
        small = frames
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.BILINEAR)) for f in frames])
        crops = np.zeros((len(frames), CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
        mask = np.zeros(len(frames), dtype=bool)
        for i, boxes in enumerate(self.detector.detect(small)):
            if not boxes:
                continue
            largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            x1, y1, x2, y2 = enlarge(tuple(v / scale for v in largest), self.margin, width, height)
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            face = Image.fromarray(frames[i]).crop((round(x1), round(y1), round(x2), round(y2)))
            crops[i] = np.asarray(face.resize((CROP_SIZE, CROP_SIZE), Image.BICUBIC))
            mask[i] = True
        return crops, mask
