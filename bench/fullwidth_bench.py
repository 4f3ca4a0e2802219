"""Full-width cost of the heads on CPU: a phase-3 step of the full preset's shapes (random init, built from the
config) with the heads, fusion and placeholder replacement, and the same step of the LM alone on the same tokens
(prompt embeddings straight from the embedding table), at 1 and 2 LM layers; the LM's 28 layers are extrapolated
from the per-layer difference. Training steps as the loop takes them: AdamW over what trains (heads + LoRA, or
LoRA alone), fp32 on CPU.

    .venv/bin/python bench/fullwidth_bench.py --batch 1 --steps 2
"""

from __future__ import annotations

import argparse
import time

import torch
from gpu_bench import RANDOM_INIT, phase3_batch

from nanoemox.config import load_config
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import set_trainable

from results import update_section


def step_seconds(model: NanoEmoX, batch, with_heads: bool, steps: int) -> float:
    """Mean seconds of a forward + backward + AdamW step, after one warm-up step."""
    (ids, mask, labels), features = batch
    set_trainable(model, "3")
    if not with_heads:
        model.heads.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    embed = model.lm.get_input_embeddings()

    def step() -> None:
        if with_heads:
            loss = model(ids, mask, features, labels).loss
        else:
            loss = model.lm(inputs_embeds=embed(ids), attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_grad_enabled(True)
    full_layers = load_config(preset="full").model.lm.num_hidden_layers
    runs = []
    for repeat in range(args.repeats):
        times = {}
        for layers in (1, 2):
            cfg = load_config(preset="full", overrides=[*RANDOM_INIT, f"model.lm.num_hidden_layers={layers}"])
            torch.manual_seed(0)
            model = NanoEmoX.from_config(cfg.model).train()
            batch = phase3_batch(model, cfg, args.batch, "cpu")
            tokens = batch[0][0].numel()
            for with_heads in (True, False):  # side by side, same tokens
                times[layers, with_heads] = step_seconds(model, batch, with_heads, args.steps)
            del model
        per_layer = times[2, False] - times[1, False]
        lm_full = times[1, False] + (full_layers - 1) * per_layer
        heads = ((times[1, True] - times[1, False]) + (times[2, True] - times[2, False])) / 2
        runs.append((times, per_layer, lm_full, heads, tokens))
        print(f"repeat {repeat}: {times}, per layer {per_layer:.2f} s, LM {lm_full:.1f} s, heads {heads:.2f} s")
    rows = "\n".join(
        f"| {i + 1} | {t[1, True]:.2f} | {t[1, False]:.2f} | {t[2, True]:.2f} | {t[2, False]:.2f} | {layer:.2f} | "
        f"{lm:.1f} | {heads:.2f} | **{heads / (lm + heads):.1%}** |"
        for i, (t, layer, lm, heads, _) in enumerate(runs)
    )
    body = f"""## Full-width cost of heads, fusion and placeholder replacement (CPU)

`.venv/bin/python bench/fullwidth_bench.py --batch {args.batch} --steps {args.steps} --repeats {args.repeats}`:
full preset shapes, random init (no download), fp32 on CPU; one phase-3 batch of {args.batch} length-grouped
example(s) of realistic length ({runs[0][4]} tokens, 69 of them placeholders); {args.steps} timed steps after a
warm-up. "LM alone" is the same tokens through the LM (LoRA trains) without the heads, fusion and placeholder
replacement. The LM is built with 1 and 2 of its {full_layers} layers (the full one does not fit this shared
machine's time); its {full_layers}-layer step = 1-layer step + {full_layers - 1} x (2-layer - 1-layer).

| # | heads, 1 layer | LM, 1 layer | heads, 2 layers | LM, 2 layers | per layer | LM, {full_layers} | heads | share |
|---|---|---|---|---|---|---|---|---|
{rows}

Times in seconds per step. Target: heads + fusion + placeholder replacement <= 10% of a phase-3 step.
"""
    update_section("fullwidth", body)
    print(body)


if __name__ == "__main__":
    main()
