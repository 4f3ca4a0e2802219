"""M3ED (7 emotions, Chinese TV dialogues): the release's `annotation.json` and official movie split lists.

Layout `official`: `annotation.json` = {movie: {dialog id: {"SpeakerInfo": {"A": {"Name": ...}, ...},
"Dialog": {utterance id: {"StartTime", "EndTime", "Text", "Speaker", "EmoAnnotation": {"final_main_emo", ...}}}}}},
and `splitInfo/movie_list_{train,val,test}.txt` (one movie per line; val -> dev). One record per utterance:
id = the utterance id (`anjia_1_1`), media = the dialog clip `{movie}/{dialog id}.mp4` with start/end from the
`HH:MM:SS:FF` timestamps (25 fps frames, relative to the dialog clip), subtitle = the Chinese text, history = the
earlier utterances of the dialog, speakers by name.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoemox.datasets.base import DatasetError, DatasetReader, load_json, read_text
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.record import Labels, Record, Turn

SPLIT_LISTS = {"train": "movie_list_train.txt", "dev": "movie_list_val.txt", "test": "movie_list_test.txt"}
FPS = 25  # the last field of a timestamp counts frames (40 ms each)
OBJECT_KEY = re.compile(r'^\s*"([^"]+)"\s*:\s*\{')


def key_lines(path: Path) -> dict[str, int]:
    """The line where each object key of a (pretty-printed) JSON file opens, for error messages."""
    lines: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        match = OBJECT_KEY.match(line)
        if match:
            lines.setdefault(match[1], number)
    return lines


def seconds(timestamp: str) -> float:
    """`HH:MM:SS:FF` -> seconds; ValueError when malformed."""
    hours, minutes, secs, frames = (int(part) for part in timestamp.split(":"))
    return hours * 3600 + minutes * 60 + secs + frames / FPS


class M3EDReader(DatasetReader):
    name = "m3ed"
    tasks = ("mer",)
    layouts = ("official",)
    splits = ("train", "dev", "test")

    def detect_layout(self) -> str:
        if (self.root / "annotation.json").is_file():
            return "official"
        raise self.layout_error("annotation.json with splitInfo/movie_list_{train,val,test}.txt")

    def movies(self, split: str) -> list[str]:
        path = self.require("splitInfo", SPLIT_LISTS[split])
        return [line.strip() for line in read_text(path).splitlines() if line.strip()]

    def read_split(self, split: str) -> Iterator[Record]:
        path = self.require("annotation.json")
        annotation = load_json(path)
        if not isinstance(annotation, dict):
            raise DatasetError(f"{path}: expected an object of movies")
        lines = key_lines(path)
        for movie in self.movies(split):
            if movie not in annotation:
                raise DatasetError(f"{path}: movie '{movie}' of {SPLIT_LISTS[split]} is not annotated")
            for dialog_id, dialog in annotation[movie].items():
                yield from self.dialog(movie, dialog_id, dialog, split, lines)

    def dialog(self, movie: str, dialog_id: str, dialog: Any, split: str, lines: dict[str, int]) -> Iterator[Record]:
        path = self.root / "annotation.json"
        clip = str(self.root / movie / f"{dialog_id}.mp4")
        try:
            names = {key: info.get("Name") or key for key, info in dialog.get("SpeakerInfo", {}).items()}
            utterances = dialog["Dialog"].items()
        except (AttributeError, KeyError):
            self.bad_row(
                path, lines.get(dialog_id, 0), f"dialog {dialog_id}: expected 'SpeakerInfo' and 'Dialog' objects"
            )
            return
        history: list[Turn] = []
        for utterance_id, utt in utterances:
            line = lines.get(utterance_id, 0)
            try:
                speaker, text = utt["Speaker"], utt["Text"].strip()
                emotion = utt["EmoAnnotation"]["final_main_emo"].strip().lower()
                start, end = seconds(utt["StartTime"]), seconds(utt["EndTime"])
            except (AttributeError, KeyError, TypeError, ValueError):
                message = "expected Speaker, Text, EmoAnnotation.final_main_emo and HH:MM:SS:FF StartTime/EndTime"
                self.bad_row(path, line, f"utterance {utterance_id}: {message}")
                continue
            if emotion not in EMOTIONS[self.name]:
                self.bad_row(path, line, f"utterance {utterance_id}: emotion '{emotion}' is not an M3ED emotion")
                continue
            speaker_name = names.get(speaker, speaker)
            yield Record(
                id=utterance_id,
                dataset=self.name,
                split=split,
                video=clip,
                audio=clip,
                start=start,
                end=end,
                subtitle=text,
                dialogue=list(history),
                labels=Labels(emotion=emotion),
            )
            history.append(Turn(speaker_name, text))


READERS = {"m3ed": M3EDReader}
