"""`python -m nanoemox.train` (what torchrun launches): the same as nanoemox-train."""

from nanoemox.cli.train import entry

entry()
