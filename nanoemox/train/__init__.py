"""P2E training on cached features: stages per strategy, data mixing, the loop, resumable checkpoints."""
