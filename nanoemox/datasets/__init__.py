"""Dataset readers: each dataset's native annotation files and media folder -> one Record type."""

from nanoemox.datasets.base import DatasetError, DatasetReader, MalformedRowError
from nanoemox.datasets.record import Labels, Record, Turn
from nanoemox.datasets.registry import DATASETS, open_dataset, reader_class

__all__ = [
    "DATASETS",
    "DatasetError",
    "DatasetReader",
    "Labels",
    "MalformedRowError",
    "Record",
    "Turn",
    "open_dataset",
    "reader_class",
]
