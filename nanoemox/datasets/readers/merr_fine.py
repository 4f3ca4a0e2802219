"""MERR-Fine (Emotion-LLaMA's 4,487 fine-grained MERR samples): reasoning captions with a pseudo emotion label.

Layout `json` (the published Nano-EmoX code's data/MER2023 folder): MERR_fine_grained.json, one object
{NAME: {"pseu_emotion", "text", "smp_reason_caption", "AU_list", "visual_prior_list", "audio_prior_list", ...}};
NAME (a MER2023 sample name) is the record id. Clips are MER2023's: test3/NAME.mp4 (or .avi) as the published code
reads them, video/NAME.mp4 where there is no test3/ folder; audio/NAME.wav when that folder exists, else the clip.
One split, "train". Labels: reason = smp_reason_caption, emotion = pseu_emotion (lowercased, checked against
labels.EMOTIONS["merr-fine"]); subtitle = text.
"""

from collections.abc import Iterator

from nanoemox.datasets.base import load_json
from nanoemox.datasets.readers.affectgpt import Media, MerFamilyReader
from nanoemox.datasets.record import Labels, Record

ANNOTATION = "MERR_fine_grained.json"


class MerrFineReader(MerFamilyReader):
    name = "merr-fine"
    tasks = ("eri",)
    layouts = ("json",)
    splits = ("train",)

    def detect_layout(self) -> str:
        if (self.root / ANNOTATION).is_file():
            return "json"
        raise self.layout_error(ANNOTATION)

    def read_split(self, split: str) -> Iterator[Record]:
        path = self.require(ANNOTATION)
        samples = load_json(path)
        if not isinstance(samples, dict):
            self.bad_row(path, 1, "expected one JSON object mapping sample names to annotations")
            return
        test3 = self.root / "test3"
        media = Media(test3 if test3.is_dir() else self.root / "video", self.root / "audio")
        for item, (name, sample) in enumerate(samples.items(), start=1):
            where = f"entry {item} ({name}): "
            fields = sample if isinstance(sample, dict) else {}
            reason = fields.get("smp_reason_caption")
            if not all(isinstance(v, str) and v.strip() for v in (fields.get("pseu_emotion"), reason)):
                self.bad_row(path, item, f"{where}expected non-empty 'pseu_emotion' and 'smp_reason_caption'")
                continue
            emotion = self.emotion(fields["pseu_emotion"], path, item, where)
            if emotion is None:
                continue
            labels = Labels(emotion=emotion, reason=reason.strip())
            subtitle = fields.get("text") if isinstance(fields.get("text"), str) else ""
            yield self.record(name, split, media, labels, (subtitle.strip(), None))


READERS = {"merr-fine": MerrFineReader}
