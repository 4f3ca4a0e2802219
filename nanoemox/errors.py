"""One exception type the CLI turns into a single clear line and an exit status."""


class NanoEmoXError(Exception):
    """A problem the user can act on (bad config, bad input, mismatched checkpoint)."""
