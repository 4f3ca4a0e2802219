"""Parameter counts per module, frozen and trainable per phase, computed on the meta device (no weights)."""

import torch
from torch import nn
from transformers import CLIPVisionModel, HubertModel, Qwen2ForCausalLM

from nanoemox.config import PHASES, PipelineConfig
from nanoemox.encoders.clip import clip_config
from nanoemox.encoders.facexformer import FaceXFormerEncoder
from nanoemox.encoders.hubert import hubert_config
from nanoemox.model.lm import add_lora, qwen2_config
from nanoemox.model.nanoemox import build_heads
from nanoemox.model.phases import set_trainable


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_report(cfg: PipelineConfig) -> dict:
    """`{"modules": {name: {"params": n, "kind": ...}}, "total": n, "trainable": {phase: n}}`."""
    model_cfg = cfg.model
    with torch.device("meta"):
        encoders = {
            "clip_vision (frozen encoder)": CLIPVisionModel(clip_config(model_cfg.encoders.clip)),
            "hubert (frozen encoder)": HubertModel(hubert_config(model_cfg.encoders.hubert)),
            "facexformer (frozen encoder)": FaceXFormerEncoder(model_cfg.encoders.face),
        }
        lm = add_lora(
            Qwen2ForCausalLM(qwen2_config(model_cfg.lm)),
            model_cfg.lora,
            model_cfg.lm.vocab_size,
        )
        heads = build_heads(model_cfg, model_cfg.lm.hidden_size)
    modules = {name: {"params": _count(m), "kind": "frozen encoder"} for name, m in encoders.items()}
    for name, head in heads.items():
        modules[name] = {"params": _count(head), "kind": "head"}
    lora = sum(p.numel() for n, p in lm.named_parameters() if "lora_" in n)
    modules["language_model (frozen)"] = {
        "params": _count(lm) - lora,
        "kind": "frozen LM",
    }
    modules["lora"] = {"params": lora, "kind": "LoRA"}
    container = nn.Module()
    container.heads, container.lm = heads, lm
    trainable = {}
    for phase in PHASES:
        set_trainable(container, phase)
        trainable[phase] = sum(p.numel() for p in container.parameters() if p.requires_grad)
    return {
        "preset": cfg.preset,
        "modules": modules,
        "total": sum(m["params"] for m in modules.values()),
        "trainable": trainable,
    }


def format_report(report: dict) -> str:
    """The table `nanoemox info` prints."""
    width = max(len(name) for name in report["modules"]) + 2
    lines = [
        f"Nano-EmoX parameters (preset {report['preset']}, counted on the meta device)",
        "",
    ]
    lines.append(f"{'module':<{width}}{'params':>16}  kind")
    for name, entry in report["modules"].items():
        lines.append(f"{name:<{width}}{entry['params']:>16,}  {entry['kind']}")
    lines.append(f"{'total':<{width}}{report['total']:>16,}  ({report['total'] / 1e9:.2f}B)")
    lines += ["", "trainable per phase:"]
    lines += [f"  {phase:<10}{n:>16,}" for phase, n in report["trainable"].items()]
    return "\n".join(lines)
