"""A small byte-level BPE tokenizer built locally, so the tiny preset needs no download."""

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from nanoemox.model.prompts import EmpathyChain, build_answer, build_prompt, load_prompts

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
WORDS = (
    "neutral happy happiness sad sadness angry anger surprise surprised fear fearful disgust disgusted "
    "worried worry excited calm frustrated confused positive negative relaxed tired proud hopeful "
    "complain praise apologise thank criticize agree taunt flaunt joke oppose comfort care inform "
    "advise arrange introduce leave prevent greet ask for help acknowledge refuse doubt emphasize "
    "the a an is are was and or of to in on at it that this with he she they we you I my your his her "
    "person character speaker user voice face smile frown tone pitch loud quiet fast slow says said "
    "because when then so but not very really just now today friend work home game lost won news"
)


def _corpus() -> list[str]:
    counts = {"fusion": 1, "speech": 1, "face": 1, "visual": 1}
    chain = EmpathyChain("a talk", "sad", "lost work", "comfort", "I am sorry to hear that.")
    texts = [build_prompt(t, list(counts), counts, "hello", ["happy", "sad"]) for t in ("mer", "mir", "eri")]
    texts += [build_prompt("erg", list(counts), counts, "hi", dialogue=[("user", "hi")])]
    texts += [text for variants in load_prompts().questions.values() for text in variants]
    texts += [
        build_answer("erg", empathy=chain),
        build_answer("ov-mer", emotions=["happy", "calm"]),
    ]
    return texts + [WORDS, WORDS.capitalize()]


def build_tiny_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on the prompt templates and emotion/intent words (deterministic)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
