"""The CPU work of one clip, run in the decode stage's worker process: decode it, resize its frames for CLIP, cut its
normalised audio windows, and crop its faces (unless the encoder finds them on its device)."""

from __future__ import annotations

import json

import torch

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.extract.decode import DecodeError, decode_clip
from nanoemox.extract.faces import face_cropper, resize_frames
from nanoemox.extract.sampling import audio_windows
from nanoemox.extract.stages import Row, detect_in_encoder, empty_row, failed_row, failure_text


class ClipPreparer:
    """record -> a decoded row (stages.empty_row's arrays, filled), or the row of its failure and the failing step."""

    def __init__(self, cfg: PipelineConfig):
        torch.set_num_threads(1)  # one worker per core: the detector and the resize must not oversubscribe
        ext, heads = cfg.extract, cfg.model.heads
        self.backend, self.sampling, self.audio_norm = ext.backend, ext.frame_sampling, ext.audio_norm
        self.frames, self.windows = heads.frames, heads.windows
        self.image_size = cfg.model.encoders.clip.image_size
        self.cropper = None if detect_in_encoder(cfg) else face_cropper(cfg)
        self.empty = empty_row(cfg)

    def __call__(self, record: Record) -> Row:
        row = failed_row(self.empty, record, "", "")
        stage = "decode"
        try:
            clip = decode_clip(record, self.backend, self.frames, self.sampling)
            if clip.frames is None and clip.audio is None:
                raise DecodeError(f"{record.video or record.audio}: no video frames and no audio")
            if clip.frames is not None:
                stage = "resize"
                size = (self.image_size, self.image_size)
                row["frames"] = resize_frames(torch.from_numpy(clip.frames), size, "bicubic").numpy()
                row["has_video"] = True
                if self.cropper is None:
                    row["source"] = clip.frames
                else:
                    stage = "faces"
                    [(row["crops"], row["face_mask"])] = self.cropper([clip.frames])
            if clip.audio is not None:
                stage = "audio"
                row["windows"] = audio_windows(clip.audio, self.windows, self.audio_norm)
                row["has_audio"] = True
        except Exception as err:  # any failure is this clip's, never the job's
            return failed_row(self.empty, record, failure_text(err), stage)
        row["meta"] = json.dumps(clip.meta)
        return row
