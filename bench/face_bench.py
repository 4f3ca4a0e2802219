"""Face recall and detection cost per detector, detection size and smallest face, on real faces.

Faces: the astronaut and the cameraman (skimage.data, with their surroundings) and 40 LFW faces
(skimage.data.lfw_subset, 25x25 crops, upscaled), pasted at several heights into 640x360 frames over real photos
(skimage.data backgrounds); the same backgrounds without a face give the false-positive rate. Recall counts a frame
when the largest box found (the one the crop uses) overlaps the pasted face (IoU >= 0.3). Cost is CPU time per
frame (one thread; CPU time, not wall time, because the machine is shared), for per-clip calls (8 frames each, the
old way) and one batched call of all frames.

    .venv/bin/python bench/face_bench.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import skimage.data
import torch

from nanoemox.extract.faces import FaceCropper

from results import update_section

FRAME = (360, 640)  # height, width
HEIGHTS = (24, 36, 54, 80, 120, 180)  # face box heights in the frame
BACKGROUNDS = ("coffee", "rocket", "brick", "grass", "gravel", "hubble_deep_field", "retina", "page")
# detector, detect_size, face_min_size; the first is the default before this benchmark
CANDIDATES = [
    ("mtcnn", 256, 32),
    ("mtcnn", 160, 20),
    ("mtcnn", 256, 20),
    ("mtcnn", 320, 20),
    ("mtcnn", 384, 20),
    ("mtcnn", 480, 20),
    ("mtcnn", 640, 20),
    ("opencv", 256, 20),
    ("opencv", 384, 20),
    ("opencv", 640, 20),
]


def rgb(image: np.ndarray) -> np.ndarray:
    return np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3]


def faces() -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """(patch, face box inside the patch) for each face photo."""
    out = []
    for name, (x1, y1, x2, y2) in (("astronaut", (181, 62, 268, 172)), ("camera", (199, 119, 254, 192))):
        photo = rgb(getattr(skimage.data, name)())
        w, h = x2 - x1, y2 - y1  # keep half a face of surroundings on each side
        left, top = max(0, x1 - w // 2), max(0, y1 - h // 2)
        patch = photo[top : min(photo.shape[0], y2 + h // 2), left : min(photo.shape[1], x2 + w // 2)]
        out.append((patch, (x1 - left, y1 - top, x2 - left, y2 - top)))
    for face in skimage.data.lfw_subset()[:80:2]:  # the first 100 are faces
        out.append((rgb((face * 255).astype(np.uint8)), (0, 0, 25, 25)))
    return out


def background(name: str, rng: np.random.Generator) -> np.ndarray:
    photo = torch.from_numpy(rgb(getattr(skimage.data, name)())).permute(2, 0, 1)[None].float()
    scale = max(FRAME[0] / photo.shape[2], FRAME[1] / photo.shape[3])
    size = (max(FRAME[0], round(photo.shape[2] * scale)), max(FRAME[1], round(photo.shape[3] * scale)))
    big = torch.nn.functional.interpolate(photo, size=size, mode="bilinear", antialias=True)
    top, left = rng.integers(0, size[0] - FRAME[0] + 1), rng.integers(0, size[1] - FRAME[1] + 1)
    return big[0, :, top : top + FRAME[0], left : left + FRAME[1]].permute(1, 2, 0).round().byte().numpy()


def scenes(seed: int = 0) -> tuple[np.ndarray, list, list[int]]:
    """Frames [n, 360, 640, 3], the true face box of each (None: no face), and its face height (0: none)."""
    rng = np.random.default_rng(seed)
    frames, boxes, heights = [], [], []
    grounds = [background(name, rng) for name in BACKGROUNDS]
    for i, (patch, (x1, y1, x2, y2)) in enumerate(faces()):
        for j, height in enumerate(HEIGHTS):
            scale = height / (y2 - y1)
            size = (round(patch.shape[0] * scale), round(patch.shape[1] * scale))
            pasted = torch.from_numpy(patch).permute(2, 0, 1)[None].float()
            pasted = torch.nn.functional.interpolate(pasted, size=size, mode="bilinear", antialias=True)
            pasted = pasted[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
            frame = grounds[(i + j) % len(grounds)].copy()
            top, left = rng.integers(0, FRAME[0] - size[0] + 1), rng.integers(0, FRAME[1] - size[1] + 1)
            frame[top : top + size[0], left : left + size[1]] = pasted
            frames.append(frame)
            boxes.append((left + x1 * scale, top + y1 * scale, left + x2 * scale, top + y2 * scale))
            heights.append(height)
    for ground in grounds:
        frames.append(ground)
        boxes.append(None)
        heights.append(0)
    return np.stack(frames), boxes, heights


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union else 0.0


def largest_boxes(cropper: FaceCropper, frames: np.ndarray) -> list:
    """The box each frame's crop is cut from (in frame pixels), through the cropper's own batched detection."""
    found = cropper.detect([frames])[0]
    return [max(b, key=lambda x: (x[2] - x[0]) * (x[3] - x[1])) if b else None for b in found]


def cpu_ms_per_frame(call, clips: list[np.ndarray]) -> float:
    call(clips[:1])  # warm up
    start = time.process_time()
    call(clips)
    return 1000 * (time.process_time() - start) / sum(len(c) for c in clips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timing-clips", type=int, default=16, help="clips of 8 frames for the cost figures")
    parser.add_argument("--detectors", default="mtcnn,opencv", help="which candidates to run (comma-separated)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)
    frames, truth, heights = scenes()
    with_face = [i for i, box in enumerate(truth) if box is not None]
    timing = [frames[i * 8 : i * 8 + 8] for i in range(args.timing_clips)]
    lines = []
    for detector, detect_size, min_size in [c for c in CANDIDATES if c[0] in args.detectors.split(",")]:
        cropper = FaceCropper(detector, detect_size, 0.5, min_size)
        found = largest_boxes(cropper, frames)
        hits = {h: [] for h in HEIGHTS}
        for i in with_face:
            hits[heights[i]].append(found[i] is not None and iou(found[i], truth[i]) >= 0.3)
        recall = np.mean([hit for row in hits.values() for hit in row])
        false = np.mean([found[i] is not None for i, box in enumerate(truth) if box is None])
        per_clip = np.mean([cpu_ms_per_frame(cropper, [c]) for c in timing])
        batched = cpu_ms_per_frame(cropper, timing)
        by_height = " | ".join(f"{np.mean(hits[h]):.2f}" for h in HEIGHTS)
        lines.append(
            f"| {detector} | {detect_size} | {min_size} | {by_height} | **{recall:.2f}** | {false:.2f} "
            f"| {per_clip:.1f} | {batched:.1f} |"
        )
        print(lines[-1], flush=True)
    head = " | ".join(f"{h} px" for h in HEIGHTS)
    body = (
        f"""## Face detection (recall and cost)

`.venv/bin/python bench/face_bench.py --timing-clips {args.timing_clips}`: {len(with_face)} frames of 640x360 with one
real face (astronaut, cameraman, 40 LFW faces from skimage.data) pasted at each height over real photos, and
{len(truth) - len(with_face)} frames without a face. Recall: the largest box found is the face (IoU >= 0.3). Cost:
CPU ms per frame, one thread, crops included, per-clip calls (8 frames) and one batched call
({args.timing_clips} clips, {8 * args.timing_clips} frames).

| detector | detect size | min face | recall {head} | recall | false positives | ms/frame per clip | ms/frame batched |
|---|---|---|{"---|" * len(HEIGHTS)}---|---|---|---|
"""
        + "\n".join(lines)
        + "\n"
    )
    update_section("faces", body)
    print(body)


if __name__ == "__main__":
    main()
