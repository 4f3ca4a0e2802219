"""CAER (7 emotions, TV-show clips): the release's folder layout, emotion from the folder name.

Layout `folders`: `{train,validation,test}/<Emotion>/<clip>.avi` (`val`/`dev` also name the dev folder; `.mp4`
clips are read too). Emotion folders are CAER's seven (`Anger`, `Disgust`, ..., `Surprise`); any other folder is a
malformed entry (reported as line 0 of that folder). Clip names repeat across folders, so the record id is
`{split}_{Emotion}_{clip}` (e.g. `dev_Anger_0001`). Video and audio are the clip itself.
"""

from collections.abc import Iterator

from nanoemox.datasets.base import DatasetReader
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.record import Labels, Record

SPLIT_FOLDERS = {"train": ("train",), "dev": ("validation", "val", "dev"), "test": ("test",)}
CLIP_SUFFIXES = (".avi", ".mp4")


class CAERReader(DatasetReader):
    name = "caer"
    tasks = ("mer",)
    layouts = ("folders",)
    splits = ("train", "dev", "test")

    def detect_layout(self) -> str:
        if any((self.root / folder).is_dir() for folders in SPLIT_FOLDERS.values() for folder in folders):
            return "folders"
        raise self.layout_error("train/, validation/ and test/ folders of <Emotion>/<clip>.avi")

    def read_split(self, split: str) -> Iterator[Record]:
        for folder in (self.root / name for name in SPLIT_FOLDERS[split]):
            if not folder.is_dir():
                continue
            for emotion_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
                emotion = emotion_dir.name.lower()
                if emotion not in EMOTIONS[self.name]:
                    self.bad_row(emotion_dir, 0, f"folder '{emotion_dir.name}' is not one of the CAER emotions")
                    continue
                for clip in sorted(p for p in emotion_dir.iterdir() if p.suffix.lower() in CLIP_SUFFIXES):
                    yield Record(
                        id=f"{split}_{emotion_dir.name}_{clip.stem}",
                        dataset=self.name,
                        split=split,
                        video=str(clip),
                        audio=str(clip),
                        labels=Labels(emotion=emotion),
                    )


READERS = {"caer": CAERReader}
