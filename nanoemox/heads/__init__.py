"""The trainable heads P2E trains: Q-Formers, face temporal module, fusion encoder, adapters."""

from nanoemox.heads.adapter import Adapter
from nanoemox.heads.face_temporal import FaceTemporal
from nanoemox.heads.fusion import (
    AttentionFusion,
    FusionOutput,
    GatedExpertFusion,
    build_fusion,
)
from nanoemox.heads.qformer import ModalityQFormer

__all__ = [
    "Adapter",
    "AttentionFusion",
    "FaceTemporal",
    "FusionOutput",
    "GatedExpertFusion",
    "ModalityQFormer",
    "build_fusion",
]
