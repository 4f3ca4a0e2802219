"""FaceXFormer's encoder (Swin features + multi-scale fusion) and a strict loader for its released checkpoint."""

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.swin_transformer import SwinTransformer

from nanoemox.config import FaceConfig
from nanoemox.errors import NanoEmoXError

log = logging.getLogger(__name__)
ENCODER_PREFIXES = ("backbone.0.", "linear_c.", "linear_fuse.")
STAGE_TAPS = (1, 3, 5, 7)  # outputs of the four Swin stages inside `features`


class StageProjection(nn.Module):
    """Per-stage Linear(C, out_dim), named `proj` as in the released checkpoint."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.proj = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class FaceXFormerEncoder(nn.Module):
    """Face crop [N, 3, 224, 224] (ImageNet-normalised) -> one face vector [N, out_dim]."""

    def __init__(self, cfg: FaceConfig):
        super().__init__()
        swin = SwinTransformer(
            patch_size=[4, 4],
            embed_dim=cfg.embed_dim,
            depths=cfg.depths,
            num_heads=cfg.num_heads,
            window_size=[cfg.window_size, cfg.window_size],
            stochastic_depth_prob=0.5,  # torchvision swin_b's, as the published encoder; only in train mode
        )
        self.backbone = nn.Sequential(swin.features)  # keys backbone.0.*, as in the checkpoint
        dims = [cfg.embed_dim * 2**i for i in range(len(cfg.depths))]
        self.linear_c = nn.ModuleList(StageProjection(d, cfg.out_dim) for d in dims)
        self.linear_fuse = nn.Conv2d(len(dims) * cfg.out_dim, cfg.out_dim, kernel_size=1, bias=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        stages = []
        x = images
        for i, block in enumerate(self.backbone[0]):
            x = block(x)  # channels last: [N, H, W, C]
            if i in STAGE_TAPS:
                stages.append(x)
        size = stages[0].shape[1:3]
        maps = [
            F.interpolate(
                proj(s).permute(0, 3, 1, 2),
                size=size,
                mode="bilinear",
                align_corners=False,
            )
            for proj, s in zip(self.linear_c, stages, strict=True)
        ]  # each [N, out_dim, 56, 56]
        fused = self.linear_fuse(torch.cat(maps[::-1], dim=1))  # deepest stage first
        return fused.mean(dim=(2, 3))  # [N, out_dim]


def load_facexformer_checkpoint(model: FaceXFormerEncoder, path: str | Path) -> list[str]:
    """Load the encoder keys of `state_dict_backbone` strictly; return the (decoder) keys ignored."""
    path = Path(path)
    if not path.is_file():
        raise NanoEmoXError(
            f"{path}: FaceXFormer checkpoint not found (download ckpts/model.pt from kartiknarayan/facexformer)"
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict_backbone" not in checkpoint:
        raise NanoEmoXError(f"{path}: no 'state_dict_backbone' key; is this FaceXFormer's model.pt?")
    state = checkpoint["state_dict_backbone"]
    encoder_state = {k: v for k, v in state.items() if k.startswith(ENCODER_PREFIXES)}
    try:
        model.load_state_dict(encoder_state, strict=True)
    except RuntimeError as err:
        raise NanoEmoXError(f"{path}: encoder weights do not fit model.encoders.face: {err}") from err
    ignored = sorted(k for k in state if not k.startswith(ENCODER_PREFIXES))
    log.info(
        "FaceXFormer: loaded %d encoder tensors, ignored %d decoder keys",
        len(encoder_state),
        len(ignored),
    )
    return ignored


def build_face_encoder(cfg: FaceConfig) -> FaceXFormerEncoder:
    """The frozen face encoder, with the released weights when init is `pretrained`; in eval mode unless
    `train_mode` (the published code's: stochastic depth stays on)."""
    model = FaceXFormerEncoder(cfg)
    if cfg.init == "pretrained":
        load_facexformer_checkpoint(model, cfg.checkpoint)
    return model.train(cfg.train_mode).requires_grad_(False)
