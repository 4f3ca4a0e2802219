"""The three frozen encoders whose features extraction caches: CLIP vision, HuBERT, FaceXFormer."""

from nanoemox.encoders.clip import build_clip
from nanoemox.encoders.facexformer import FaceXFormerEncoder, build_face_encoder
from nanoemox.encoders.hubert import build_hubert

__all__ = ["FaceXFormerEncoder", "build_clip", "build_face_encoder", "build_hubert"]
