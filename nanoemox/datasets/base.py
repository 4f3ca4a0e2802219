"""What every dataset reader shares: root and layout checks, row errors (or --lenient skips), file helpers."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar

from nanoemox.datasets.record import Record
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import files

SPLIT_NAMES = {"train": "train", "val": "dev", "valid": "dev", "dev": "dev", "test": "test"}  # as releases write them


# The lenient reader whose files are being read, if any: its text files may hold a few non-UTF-8 bytes.
LENIENT_READER: ContextVar[DatasetReader | None] = ContextVar("lenient_reader", default=None)


class DatasetError(NanoEmoXError):
    """A dataset folder or annotation file that cannot be read as the named dataset."""


class MalformedRowError(DatasetError):
    """One annotation row that cannot be turned into a record (names the file and line)."""


class DatasetReader:
    """Base of all readers: subclasses set the class attributes and implement `detect_layout` and `read_split`.

    Paths in records are resolved against `root`; readers never check that media exist (`check` does),
    so a missing file never hides a record.
    """

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]]
    layouts: ClassVar[tuple[str, ...]]
    splits: ClassVar[tuple[str, ...]]

    def __init__(self, root: str | Path, layout: str | None = None, lenient: bool = False):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"{self.name}: root folder {self.root} does not exist")
        if layout is not None and layout not in self.layouts:
            raise DatasetError(f"{self.name}: unknown layout '{layout}'; choose from {', '.join(self.layouts)}")
        self.layout = layout or self.detect_layout()
        self.lenient = lenient
        self.skipped: list[str] = []  # with --lenient: one message per skipped row
        self.absent: dict[str, Path] = {}  # split -> the annotation file it was read from, found missing

    def detect_layout(self) -> str:
        """Pick the layout from the files on disk; raise DatasetError saying what was looked for."""
        raise NotImplementedError

    def read_split(self, split: str) -> Iterator[Record]:
        raise NotImplementedError

    def read(self, split: str | None = None) -> Iterator[Record]:
        """Records of one split, or of every split in order."""
        if split is not None and split not in self.splits:
            raise DatasetError(f"{self.name}: unknown split '{split}'; choose from {', '.join(self.splits)}")
        for name in [split] if split else self.splits:
            token = LENIENT_READER.set(self if self.lenient else None)
            try:
                yield from self.read_split(name)
            finally:
                LENIENT_READER.reset(token)

    def bad_row(self, path: Path, line: int, message: str) -> None:
        """A malformed row: an error naming file and line, or (lenient) skipped and counted."""
        text = f"{path}:{line}: {message}"
        if not self.lenient:
            raise MalformedRowError(f"{text} (use --lenient to skip such rows)")
        self.skipped.append(text)

    def layout_error(self, looked_for: str) -> DatasetError:
        """The error `detect_layout` raises when no known layout is on disk."""
        return DatasetError(f"{self.name}: no annotation files in {self.root}; looked for {looked_for}")

    def require(self, *relative: str) -> Path:
        """A file under root that this layout needs; a clear error when it is missing."""
        path = self.root.joinpath(*relative)
        if not path.exists():
            raise DatasetError(f"{self.name} ({self.layout} layout): {path} not found")
        return path


def read_text(path: Path) -> str:
    """A text file as UTF-8 (a BOM is dropped). Any other encoding is an error naming the file, except while a
    lenient reader reads: then undecodable bytes become U+FFFD and the reader counts the file."""
    try:
        return files.read_text(path, "annotation file")
    except files.NotUTF8Error as err:
        lenient = LENIENT_READER.get()
        if lenient is None:
            raise DatasetError(f"{err}, or pass --lenient to replace the bad bytes") from err
        lenient.skipped.append(f"{path}: not UTF-8 text (byte {err.start}): undecodable bytes replaced")
        return path.read_bytes().decode("utf-8-sig", errors="replace")


def csv_rows(path: Path, delimiter: str = ",", required: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV/TSV with a header; line numbers count from the header (1). A header
    without the `required` columns is an error about the file (no row of it could be read)."""
    reader = csv.DictReader(read_text(path).splitlines(keepends=True), delimiter=delimiter)
    absent = [name for name in required if name not in (reader.fieldnames or [])]
    if absent:
        has = ", ".join(reader.fieldnames or []) or "no header"
        raise DatasetError(f"{path}: the header has no column(s) {', '.join(absent)} (it has {has})")
    for row in reader:
        yield reader.line_num, row


def load_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) pairs; a malformed line yields (line, None) for the reader to report."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError:
            yield number, None


def rebase(published_path: str, root: Path, keep: int = 2) -> str:
    """Map an absolute path from someone else's machine onto `root`, keeping its last `keep` parts."""
    parts = Path(published_path).parts[-keep:]
    return str(root.joinpath(*parts))


def clean_id(name: str) -> str:
    """A record id from a dataset name: no brackets. Dots stay (shard keys escape them), so `a.1` and `a_1` stay
    two clips."""
    return name.replace("[", "_").replace("]", "")


def split_of_file(path: Path, splits: tuple[str, ...]) -> str | None:
    """The split named in a file name (`train_MIntRec_ann.json` -> train, `val.json` -> dev), or None."""
    words = path.stem.lower().replace("-", "_").split("_")
    return next((SPLIT_NAMES[w] for w in words if SPLIT_NAMES.get(w) in splits), None)
