"""EMER (explainable multimodal emotion reasoning, the ERI test set): MER2023 clips with reference reasoning text.

Layouts (NAME is the MER2023 sample name and the record id; clips in video/NAME.mp4 or .avi, audio/NAME.wav when
that folder exists, else the clip):
- `v1` (EMER-V1, 100 clips): gt-eng.csv (names, emotions, subtitles, reasons). emotions are MER2023's discrete
  labels (checked against labels.EMOTIONS["emer"]), reasons the reference reasoning. A gt-chi.csv beside it (same
  columns, Chinese) supplies subtitle_original.
- `v2` (EMER-V2, 332 clips): final-EMER-reason.csv (name, chinese, english); the English text is the reason. It has
  no emotion and no subtitle.
One split, "test". Neither release has open-vocabulary labels, so ov_emotions stays None.
"""

from collections.abc import Iterator

from nanoemox.datasets.base import csv_rows
from nanoemox.datasets.readers.affectgpt import Media, MerFamilyReader
from nanoemox.datasets.record import Labels, Record

FILES = {"v1": "gt-eng.csv", "v2": "final-EMER-reason.csv"}


class EmerReader(MerFamilyReader):
    name = "emer"
    tasks = ("eri",)
    layouts = ("v1", "v2")
    splits = ("test",)

    def detect_layout(self) -> str:
        for layout, file in FILES.items():
            if (self.root / file).is_file():
                return layout
        raise self.layout_error(" or ".join(f"{file} ({layout})" for layout, file in FILES.items()))

    def read_split(self, split: str) -> Iterator[Record]:
        media = Media(self.root / "video", self.root / "audio")
        if self.layout == "v2":
            yield from self.read_v2(split, media)
        else:
            yield from self.read_v1(split, media)

    def read_v1(self, split: str, media: Media) -> Iterator[Record]:
        path = self.require(FILES["v1"])
        chinese_csv = self.root / "gt-chi.csv"
        chinese = {}
        if chinese_csv.is_file():
            chinese = {
                (row.get("names") or "").strip(): (row.get("subtitles") or "").strip()
                for _, row in csv_rows(chinese_csv)
            }
        for line, row in csv_rows(path):
            name, reason = (row.get("names") or "").strip(), (row.get("reasons") or "").strip()
            if not name or not reason:
                self.bad_row(
                    path, line, "expected columns names, emotions, subtitles, reasons (names and reasons non-empty)"
                )
                continue
            emotion = self.emotion(row.get("emotions"), path, line)
            if emotion is None:
                continue
            subtitle = ((row.get("subtitles") or "").strip(), chinese.get(name) or None)
            yield self.record(name, split, media, Labels(emotion=emotion, reason=reason), subtitle)

    def read_v2(self, split: str, media: Media) -> Iterator[Record]:
        path = self.require(FILES["v2"])
        for line, row in csv_rows(path):
            name, reason = (row.get("name") or "").strip(), (row.get("english") or "").strip()
            if not name or not reason:
                self.bad_row(path, line, "expected columns name, chinese, english (name and english non-empty)")
                continue
            yield self.record(name, split, media, Labels(reason=reason))


READERS = {"emer": EmerReader}
