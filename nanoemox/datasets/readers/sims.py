"""CH-SIMS and CH-SIMS v2 (Chinese, sentiment in [-1, 1]): the official label CSV, or AffectGPT's MER-UniBench layout.

`csv` layout: label.csv (MMSA's CH-SIMS release) or meta.csv (CH-SIMS v2 release) with columns video_id, clip_id,
text (Chinese), label (multimodal sentiment; label_T/label_A/label_V are not used), mode (train/valid/test);
clips Raw/<video_id>/<clip_id>.mp4 (CH-SIMS clip ids zero-padded to 4 digits, as its file names are).
Record id `<video_id>_<clip_id>`. The Chinese text is both `subtitle` and `subtitle_original`.
`unibench` layout (AffectGPT's sims-process / simsv2-process): label.npz (train_corpus, val_corpus, test_corpus:
{name: {"val": sentiment}}), transcription-engchi-polish.csv (name, chinese, english: an English translation,
used as `subtitle`), clips video/<name>.mp4 (v2: video_new/) and audio audio/<name>.wav.
"""

from collections.abc import Iterator
from typing import ClassVar

from nanoemox.datasets.base import SPLIT_NAMES, clean_id, csv_rows
from nanoemox.datasets.readers.affectgpt import UniBenchSentiment
from nanoemox.datasets.record import Labels, Record

LABEL_FILES = ("label.csv", "meta.csv")
COLUMNS = ("video_id", "clip_id", "text", "label", "mode")


class SimsReader(UniBenchSentiment):
    name = "sims"
    layouts = ("csv", "unibench")
    sentiment_range = (-1.0, 1.0)
    video_dirs = ("video",)
    audio_dir = "audio"
    chinese_original = True
    clip_width: ClassVar[int] = 4  # CH-SIMS clips are Raw/video_0001/0001.mp4 while label.csv may hold clip_id 1

    def detect_layout(self) -> str:
        if any((self.root / name).is_file() for name in LABEL_FILES):
            return "csv"
        if (self.root / "label.npz").is_file():
            return "unibench"
        raise self.layout_error(f"{' or '.join(LABEL_FILES)} (official) or label.npz (MER-UniBench)")

    def read_split(self, split: str) -> Iterator[Record]:
        yield from self.read_unibench(split) if self.layout == "unibench" else self.read_csv(split)

    def read_csv(self, split: str) -> Iterator[Record]:
        path = next(self.root / name for name in LABEL_FILES if (self.root / name).is_file())
        for line, row in csv_rows(path, required=[c for c in COLUMNS if c != "text"]):
            if any(not (row.get(column) or "").strip() for column in COLUMNS if column != "text"):
                self.bad_row(path, line, f"expected columns {', '.join(COLUMNS)} with values")
                continue
            mode = SPLIT_NAMES.get(row["mode"].strip().lower())
            if mode is None:
                self.bad_row(path, line, f"mode '{row['mode']}' is not train, valid or test")
                continue
            if mode != split:
                continue
            sentiment = self.sentiment(row["label"], path, line, f"clip {row['video_id']}/{row['clip_id']}")
            if sentiment is None:
                continue
            video_id, clip = row["video_id"].strip(), row["clip_id"].strip().zfill(self.clip_width)
            clip_path = str(self.root / "Raw" / video_id / f"{clip}.mp4")
            text = (row.get("text") or "").strip()
            yield Record(
                id=clean_id(f"{video_id}_{clip}"),
                dataset=self.name,
                split=split,
                video=clip_path,
                audio=clip_path,
                subtitle=text,
                subtitle_original=text,
                labels=Labels(sentiment=sentiment),
            )


class SimsV2Reader(SimsReader):
    name = "simsv2"
    video_dirs = ("video_new", "video")
    clip_width = 0  # CH-SIMS v2 clip ids are used as written


READERS = {"sims": SimsReader, "simsv2": SimsV2Reader}
