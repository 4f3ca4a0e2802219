"""Benchmark metrics for the six Nano-EmoX tasks, each following its benchmark's published evaluation code."""
