"""MELD: the official `{train,dev,test}_sent_emo.csv` files, one record per utterance with its dialogue history.

Clips live in `train_splits/`, `dev_splits_complete/` and `output_repeated_splits_test/` as `dia{D}_utt{U}.mp4`.
"""

from collections.abc import Iterator

from nanoemox.datasets.base import DatasetReader, csv_rows
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.record import Labels, Record, Turn

CLIP_FOLDERS = {"train": "train_splits", "dev": "dev_splits_complete", "test": "output_repeated_splits_test"}
SENTIMENT = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


class MeldReader(DatasetReader):
    name = "meld"
    tasks = ("mer", "msa")
    layouts = ("csv",)
    splits = ("train", "dev", "test")

    def detect_layout(self) -> str:
        if any(self.root.glob("*_sent_emo.csv")):
            return "csv"
        raise self.layout_error("train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv")

    def read_split(self, split: str) -> Iterator[Record]:
        files = sorted(self.root.glob(f"*{split}_sent_emo.csv"))
        if not files:
            self.absent[split] = self.root / f"{split}_sent_emo.csv"
            return
        path = files[0]
        history: dict[str, list[Turn]] = {}
        for line, row in csv_rows(path, required=COLUMNS):
            if any(row.get(column) is None for column in COLUMNS):
                self.bad_row(path, line, f"expected columns {', '.join(COLUMNS)}")
                continue
            emotion, sentiment = row["Emotion"].strip().lower(), row["Sentiment"].strip().lower()
            if emotion not in EMOTIONS["meld"] or sentiment not in SENTIMENT:
                self.bad_row(path, line, f"emotion '{emotion}' / sentiment '{sentiment}' not in MELD's labels")
                continue
            dialogue, utterance = row["Dialogue_ID"].strip(), row["Utterance_ID"].strip()
            turns = history.setdefault(dialogue, [])
            clip = self.root / CLIP_FOLDERS[split] / f"dia{dialogue}_utt{utterance}.mp4"
            yield Record(
                id=f"dia{dialogue}_utt{utterance}",
                dataset=self.name,
                split=split,
                video=str(clip),
                audio=str(clip),
                subtitle=row["Utterance"],
                dialogue=list(turns),
                labels=Labels(emotion=emotion, sentiment=SENTIMENT[sentiment]),
            )
            turns.append(Turn(row["Speaker"], row["Utterance"]))


READERS = {"meld": MeldReader}
