"""Fixtures for reader tests: the shared real-format reference files (skipped cleanly when absent)."""

import os
from pathlib import Path

import pytest

REFERENCE = Path(
    os.environ.get("NANOEMOX_REFERENCE", Path(__file__).resolve().parents[2].parent / "shared" / "reference")
)


@pytest.fixture
def reference() -> Path:
    """../shared/reference: real annotation files, read in place and never copied into the repository."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference files not found at {REFERENCE}")
    return REFERENCE


def link_files(root: Path, mapping: dict[str, Path]) -> Path:
    """Lay out a dataset root whose annotation files are symlinks to reference files."""
    for name, target in mapping.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    return root
