"""Dataset names used on every command line, and the module that holds each reader."""

import importlib
from pathlib import Path

from nanoemox.datasets.base import DatasetError, DatasetReader

READER_MODULES = {  # name -> module in nanoemox.datasets.readers (imported on first use)
    "mer-caption+": "mer_caption_plus",
    "merr-fine": "merr_fine",
    "mer2023": "mer_unibench",
    "mer2024": "mer_unibench",
    "meld": "meld",
    "iemocap": "iemocap",
    "mosi": "cmu_mosi_mosei",
    "mosei": "cmu_mosi_mosei",
    "sims": "sims",
    "simsv2": "sims",
    "ov-merd": "mer_unibench",
    "emer": "emer",
    "mintrec": "mintrec",
    "mintrec2": "mintrec2",
    "caer": "caer",
    "ferv39k": "ferv39k",
    "crema-d": "crema_d",
    "m3ed": "m3ed",
    "avamerg": "avamerg",
}
DATASETS = tuple(READER_MODULES)


def reader_class(name: str) -> type[DatasetReader]:
    """The reader class registered under `name` (each reader module defines READERS = {name: class})."""
    if name not in READER_MODULES:
        import difflib

        close = difflib.get_close_matches(name, DATASETS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DatasetError(f"unknown dataset '{name}'{hint}; known: {', '.join(DATASETS)}")
    module = importlib.import_module(f"nanoemox.datasets.readers.{READER_MODULES[name]}")
    return module.READERS[name]


def open_dataset(name: str, root: str | Path, layout: str | None = None, lenient: bool = False) -> DatasetReader:
    """A reader for dataset `name` under `root`, with its layout picked from disk unless given."""
    return reader_class(name)(root, layout=layout, lenient=lenient)
