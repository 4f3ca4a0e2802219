"""MER-Caption+ (AffectGPT's training set): open-vocabulary emotions and reasoning text for about 31k clips.

Layout `mer2025` (the MER2025 download, mer2025-dataset/; NAME is the sample name and the record id):
track2_train_mercaptionplus.csv (name, openset: "[happy, excited]"), track3_train_mercaptionplus.csv (name, reason),
subtitle_chieng.csv (name, chinese, english), clips in video/NAME.mp4 (or video/video/, as the published Nano-EmoX
config has them) and audio/NAME.wav. One split, "train". A track2 row whose name has no reason in track3 is malformed;
an empty openset means neutral, as in AffectGPT.
"""

from collections.abc import Iterator

from nanoemox.datasets.readers.affectgpt import TrackReader
from nanoemox.datasets.record import Record


class MerCaptionPlusReader(TrackReader):
    name = "mer-caption+"
    tasks = ("ov-mer", "eri")
    layouts = ("mer2025",)
    splits = ("train",)
    stem = "mercaptionplus"

    def detect_layout(self) -> str:
        if (self.root / self.track_files()[0]).is_file():
            return "mer2025"
        raise self.layout_error(" and ".join(self.track_files()))

    def read_split(self, split: str) -> Iterator[Record]:
        yield from self.read_tracks(split)


READERS = {"mer-caption+": MerCaptionPlusReader}
