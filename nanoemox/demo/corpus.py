"""The demo corpus: short clips in four real datasets' native formats, with labels learnable from the signals.

Each class is tied to a mix of cues: the voice's pitch and loudness, the face's tint, and a cue word in the
subtitle (present in most, not all, clips), so the model must use more than one modality. Formats:
MELD's CSVs (emotions), MIntRec's TSVs (intents), AvaMERG's conversation JSON (empathetic dialogue, audio
in separate wav files) and MER-Caption+'s track CSVs (open-vocabulary labels and reasons).
"""

from __future__ import annotations

import csv
import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanoemox.demo.media import voice, write_clip
from nanoemox.runtime.progress import progress


@dataclass(frozen=True)
class Cue:
    """The signals of one class."""

    pitch_hz: float
    energy: float
    tint: tuple[float, float, float]


CUES = (  # class 0..3: bright and high, red and loud, blue and low, grey and level
    Cue(250.0, 0.45, (1.25, 1.15, 0.7)),
    Cue(190.0, 0.7, (1.35, 0.7, 0.7)),
    Cue(115.0, 0.15, (0.7, 0.85, 1.35)),
    Cue(160.0, 0.3, (1.0, 1.0, 1.0)),
)
MELD = {"joy": "great", "anger": "stop", "sadness": "miss", "neutral": "bus"}
MINTREC = {"thank": "thanks", "complain": "broken", "greet": "hello", "inform": "tomorrow"}
AVAMERG = {"joyful": "won", "furious": "ruined", "sad": "lost", "afraid": "dark"}
OPEN_VOCABULARY = {
    "happy": ["happy", "excited"],
    "angry": ["angry", "annoyed"],
    "sad": ["sad", "tired"],
    "calm": ["calm"],
}
FILLER = ("so", "well", "today", "the", "and", "really", "then", "it", "was")
CLIP_SECONDS, FPS, SIZE = 2.0, 8, 160
# Held-out splits large enough that a score is not mostly noise: one clip more right moves MER by 1/96, MIR by 1/72
# and ERG (each conversation's last turn) by 1/32, against 1/32, 1/24 and 1/8 before.
COUNTS = {"meld": {"train": 64, "dev": 16, "test": 96}, "mintrec": {"train": 48, "dev": 8, "test": 72}}
AVAMERG_CONVERSATIONS = {"train": 12, "test": 32}  # two speaker turns each
MER_CAPTION_CLIPS = 32


class Corpus:
    def __init__(self, out: Path, scale: float, seed: int):
        self.out, self.scale = out, scale
        self.rng = np.random.default_rng(seed)
        self.bar = progress(desc="demo corpus", unit="clip")

    def count(self, n: int) -> int:
        return max(2, round(n * self.scale))

    def subtitle(self, cue_word: str) -> str:
        words = list(self.rng.choice(FILLER, 4))
        if self.rng.random() < 0.75:  # the word cue is there in most clips, not all
            words.insert(int(self.rng.integers(0, 4)), cue_word)
        return " ".join(words).capitalize() + "."

    def audio(self, label: int) -> np.ndarray:
        cue = CUES[label]
        pitch = cue.pitch_hz * self.rng.uniform(0.92, 1.08)
        return voice(CLIP_SECONDS, pitch, cue.energy * self.rng.uniform(0.85, 1.15), seed=int(self.rng.integers(1e9)))

    def clip(self, path: Path, label: int, with_audio: bool = True) -> np.ndarray:
        tint = tuple(t * self.rng.uniform(0.93, 1.07) for t in CUES[label].tint)
        sound = self.audio(label)
        seed = int(self.rng.integers(1e9))
        write_clip(path, CLIP_SECONDS, FPS, SIZE, sound if with_audio else None, True, tint, seed, lossless=True)
        self.bar.update()
        return sound


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def make_meld(corpus: Corpus) -> Path:
    root = corpus.out / "meld"
    folders = {"train": "train_splits", "dev": "dev_splits_complete", "test": "output_repeated_splits_test"}
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"]
    header += ["Season", "Episode", "StartTime", "EndTime"]
    sentiment = {"joy": "positive", "anger": "negative", "sadness": "negative", "neutral": "neutral"}
    for split, n in COUNTS["meld"].items():
        (root / folders[split]).mkdir(parents=True, exist_ok=True)
        with (root / f"{split}_sent_emo.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for i in range(corpus.count(n)):
                label = i % len(MELD)
                emotion, word = list(MELD.items())[label]
                dialogue, utterance = i // 2, i % 2
                corpus.clip(root / folders[split] / f"dia{dialogue}_utt{utterance}.mp4", label)
                row = [i + 1, corpus.subtitle(word), "Ann", emotion, sentiment[emotion], dialogue, utterance]
                writer.writerow(row + [1, 1, "00:00:00,000", "00:00:02,000"])
    return root


def make_mintrec(corpus: Corpus) -> Path:
    root = corpus.out / "mintrec"
    root.mkdir(parents=True, exist_ok=True)
    for split, n in COUNTS["mintrec"].items():
        with (root / f"{split}.tsv").open("w", newline="") as f:
            writer = csv.writer(f, delimiter="\t")
            writer.writerow(["season", "episode", "clip", "text", "label"])
            season = {"train": "S01", "dev": "S02", "test": "S03"}[split]
            for i in range(corpus.count(n)):
                label = i % len(MINTREC)
                intent, word = list(MINTREC.items())[label]
                corpus.clip(root / "raw_data" / season / "E01" / f"{i}.mp4", label)
                writer.writerow([season, "E01", i, corpus.subtitle(word), intent.capitalize()])
    return root


def make_avamerg(corpus: Corpus) -> Path:
    root = corpus.out / "avamerg"
    for split, n in AVAMERG_CONVERSATIONS.items():
        conversations = []
        for c in range(corpus.count(n)):
            conversation_id = f"{split}{c}"
            history, turns = [], []
            for t in range(2):
                label = (c + t) % len(AVAMERG)
                emotion, word = list(AVAMERG.items())[label]
                history = history + [{"role": "speaker", "utterance": corpus.subtitle(word)}]
                clip = f"dia{conversation_id}utt{len(history) - 1}_7"
                sound = corpus.clip(root / "video" / f"{clip}.mp4", label, with_audio=False)
                write_wav(root / "audio" / f"{clip}.wav", sound)
                chain = {
                    "event_scenario": f"the speaker talks about something that {word} them",
                    "speaker_emotion": emotion,
                    "emotion_cause": f"it {word} their day",
                    "goal_to_response": "to acknowledge the feeling",
                }
                response = f"I can tell you feel {emotion}; tell me more."
                turns.append({"turn_id": t, "context": "", "dialogue_history": list(history), "response": response,
                              "chain_of_empathy": chain})  # fmt: skip
                history = history + [{"role": "listener", "utterance": response}]
            conversations.append({"conversation_id": conversation_id, "speaker_profile": {"ID": 7},
                                  "listener_profile": {"ID": 8}, "topic": "daily life", "turns": turns})  # fmt: skip
        (root / f"{split}.json").write_text(json.dumps(conversations, indent=1))
    return root


def make_mer_caption(corpus: Corpus) -> Path:
    root = corpus.out / "mer-caption+"
    (root / "video").mkdir(parents=True, exist_ok=True)
    rows = {
        "track2_train_mercaptionplus.csv": [["name", "openset"]],
        "track3_train_mercaptionplus.csv": [["name", "reason"]],
    }
    rows["subtitle_chieng.csv"] = [["name", "chinese", "english"]]
    words = list(MELD.values())
    for i in range(corpus.count(MER_CAPTION_CLIPS)):
        label = i % len(OPEN_VOCABULARY)
        name = f"sample_{i:08d}"
        mood, emotions = list(OPEN_VOCABULARY.items())[label]
        sound = corpus.clip(root / "video" / f"{name}.mp4", label, with_audio=False)
        write_wav(root / "audio" / f"{name}.wav", sound)
        rows["track2_train_mercaptionplus.csv"].append([name, f"[{', '.join(emotions)}]"])
        reason = f"The voice is {'high' if label == 0 else 'loud' if label == 1 else 'low' if label == 2 else 'level'} "
        rows["track3_train_mercaptionplus.csv"].append(
            [name, reason + f"and the face looks {mood}, so the person feels {mood}."]
        )
        rows["subtitle_chieng.csv"].append([name, "", corpus.subtitle(words[label])])
    for file, lines in rows.items():
        with (root / file).open("w", newline="") as f:
            csv.writer(f).writerows(lines)
    return root


def make_corpus(out: str | Path, scale: float = 1.0, seed: int = 0) -> dict[str, Path]:
    """Write the demo corpus under `out`; returns each dataset's root."""
    corpus = Corpus(Path(out), scale, seed)
    roots = {
        "meld": make_meld(corpus),
        "mintrec": make_mintrec(corpus),
        "avamerg": make_avamerg(corpus),
        "mer-caption+": make_mer_caption(corpus),
    }
    corpus.bar.close()
    return roots
