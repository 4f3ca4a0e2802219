"""FERV39K (7 emotions, face frames): the release's frame folders and its All-scenes train/test lists.

Layout `setups`: `4_setups/All_scenes/{train,test}_All.csv`, no header, one `<frame folder> <Label>` pair per line
separated by spaces (e.g. `Action/Fight/Angry/0047 Angry`); the frame folders (face crops) are under
`2_ClipsforFaceCrop/`. FERV39K has an official train/test split and no dev split. Record id: the frame folder with
`/` -> `_`; `frames_dir` is that folder, no video, no audio (FERV39K ships frames only).
"""

from collections.abc import Iterator

from nanoemox.datasets.base import DatasetReader, read_text
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.record import Labels, Record

SETUP_DIR = ("4_setups", "All_scenes")
FRAMES_DIR = "2_ClipsforFaceCrop"


class FERV39KReader(DatasetReader):
    name = "ferv39k"
    tasks = ("mer",)
    layouts = ("setups",)
    splits = ("train", "test")

    def detect_layout(self) -> str:
        if any(self.root.joinpath(*SETUP_DIR).glob("*_All.csv")):
            return "setups"
        raise self.layout_error("4_setups/All_scenes/train_All.csv and test_All.csv")

    def read_split(self, split: str) -> Iterator[Record]:
        path = self.root.joinpath(*SETUP_DIR, f"{split}_All.csv")
        if not path.is_file():
            self.absent[split] = path
            return
        for line, text in enumerate(read_text(path).splitlines(), start=1):
            if not text.strip():
                continue
            fields = text.split()
            emotion = fields[-1].lower() if len(fields) == 2 else None
            if emotion not in EMOTIONS[self.name]:
                self.bad_row(path, line, "expected '<frame folder> <Label>' with one of FERV39K's 7 labels")
                continue
            folder = fields[0].strip("/")
            yield Record(
                id=folder.replace("/", "_"),
                dataset=self.name,
                split=split,
                frames_dir=str(self.root / FRAMES_DIR / folder),
                labels=Labels(emotion=emotion),
            )


READERS = {"ferv39k": FERV39KReader}
