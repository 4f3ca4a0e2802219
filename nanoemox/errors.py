"""One exception type the CLI turns into a single clear line and an exit status."""

import textwrap


class NanoEmoXError(Exception):
    """A problem the user can act on (bad config, bad input, mismatched checkpoint)."""


def first_line(err: BaseException, width: int = 1000) -> str:
    """Another library's exception as one line for a message: its first line, shortened at a word boundary (a
    decoder's message cut mid-word read `Invalid data foun`)."""
    return textwrap.shorten((str(err).strip().splitlines() or [""])[0], width, placeholder=" ...")
