"""CREMA-D (6 emotions, acted speech): the release folders, or the published code's chat JSON.

Layouts (picked from disk):
- `folders`: `AudioWAV/{ActorID}_{SentenceID}_{EMO}_{LEVEL}.wav` (e.g. `1001_DFA_ANG_XX.wav`), with the video in
  `VideoFlash/<same name>.flv` when that folder exists. Emotion from the EMO code, subtitle from the sentence code.
- `chat`: the published code's `*.json`: a list of {"messages": [user, assistant emotion], "audios": [path]} whose
  file names carry an emotion prefix (`Anger_1001_DFA_ANG_XX.wav`); audio paths are rebased to `audio/` under root.

CREMA-D has no official split. Ours is speaker-independent, by actor id: 1001-1073 train (73 actors),
1074-1082 dev (9), 1083-1091 test (9), applied to both layouts. Record id: the clip name (`1001_DFA_ANG_XX`).
"""

import re
from collections.abc import Iterator
from pathlib import Path

from nanoemox.datasets.base import DatasetReader, load_json, rebase
from nanoemox.datasets.record import Labels, Record

SENTENCES = {
    "IEO": "It's eleven o'clock.",
    "TIE": "That is exactly what happened.",
    "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.",
    "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.",
    "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.",
    "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.",
    "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}
EMOTION_CODES = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CLIP_NAME = re.compile(  # the level is LO/MD/HI/XX (one release file has X)
    r"(?:[A-Za-z]+_)?(?P<clip>(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_[A-Z]{1,2})"
)
LAST_TRAIN_ACTOR, LAST_DEV_ACTOR = 1073, 1082


def actor_split(actor: int) -> str:
    """Our speaker-independent split of the 91 actors (1001-1091)."""
    return "train" if actor <= LAST_TRAIN_ACTOR else "dev" if actor <= LAST_DEV_ACTOR else "test"


class CremaDReader(DatasetReader):
    name = "crema-d"
    tasks = ("mer",)
    layouts = ("folders", "chat")
    splits = ("train", "dev", "test")

    def detect_layout(self) -> str:
        if (self.root / "AudioWAV").is_dir():
            return "folders"
        if any(self.root.glob("*.json")):
            return "chat"
        raise self.layout_error("AudioWAV/ (release folders) or a chat JSON (*.json with 'audios')")

    def read_split(self, split: str) -> Iterator[Record]:
        if self.layout == "chat":
            yield from self.read_chat(split)
        else:
            yield from self.read_folders(split)

    def read_folders(self, split: str) -> Iterator[Record]:
        video_dir = self.root / "VideoFlash"
        for wav in sorted((self.root / "AudioWAV").glob("*.wav")):
            record = self.parse(wav.stem, wav, 0)  # line 0: the file name itself is the annotation
            if record is None or record.split != split:
                continue
            record.audio = str(wav)
            record.video = str(video_dir / f"{wav.stem}.flv") if video_dir.is_dir() else None
            yield record

    def read_chat(self, split: str) -> Iterator[Record]:
        for path in sorted(self.root.glob("*.json")):
            for index, item in enumerate(load_json(path), start=1):
                try:
                    label, audio = item["messages"][1]["content"], item["audios"][0]
                except (KeyError, IndexError, TypeError):
                    self.bad_row(path, index, "expected messages [user, assistant] and an 'audios' list (item)")
                    continue
                record = self.parse(Path(audio).stem, path, index)
                if record is None or record.split != split:
                    continue
                if label.strip().lower() != record.labels.emotion:
                    self.bad_row(path, index, f"label '{label}' disagrees with the clip name {record.id} (item)")
                    continue
                record.audio = rebase(audio, self.root)
                yield record

    def parse(self, name: str, path: Path, line: int) -> Record | None:
        """The record (without media) of a clip name, or None after reporting a bad name."""
        match = CLIP_NAME.fullmatch(name)
        if not match or match["sentence"] not in SENTENCES or match["emotion"] not in EMOTION_CODES:
            self.bad_row(path, line, f"'{name}' is not ActorID_SentenceID_EMO_LEVEL with CREMA-D codes")
            return None
        return Record(
            id=match["clip"],
            dataset=self.name,
            split=actor_split(int(match["actor"])),
            subtitle=SENTENCES[match["sentence"]],
            labels=Labels(emotion=EMOTION_CODES[match["emotion"]]),
        )


READERS = {"crema-d": CremaDReader}
