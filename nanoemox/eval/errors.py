"""The error type of the benchmark metrics, so the CLI reports bad inputs as one clear line."""

from nanoemox.errors import NanoEmoXError


class EvalError(NanoEmoXError):
    """Benchmark inputs that cannot be scored: missing or malformed files, ids, judge replies or LLM calls."""
