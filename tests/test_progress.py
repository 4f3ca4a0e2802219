"""Progress bars: in-place redraws on a terminal, plain lines (no carriage returns) in a log."""

import io

from nanoemox.runtime.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_plain_lines_not_redraws():
    log = io.StringIO()
    with progress(total=50, desc="extract meld", unit="clip", file=log) as bar:
        for _ in range(50):
            bar.update()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3  # the start, at most one timed line, the end; not one per update
    assert lines[-1].startswith("extract meld: 50/50 [")
    assert "clip/s" in lines[-1]


def test_a_passing_bar_leaves_no_line_in_a_log_and_counts_are_not_repeated():
    log = io.StringIO()
    for _ in progress(range(3), desc="meld/train", unit=" records", file=log, leave=False):
        pass
    assert log.getvalue() == ""  # `datasets check > file` printed `meld/train: 0/? records/s`
    with progress(total=2, desc="phase1", unit="step", file=log, mininterval=0) as bar:
        for step in range(2):
            bar.update()
            bar.set_postfix(loss=f"{step}")  # a redraw at the same count
    counts = [line.split(" [")[0] for line in log.getvalue().splitlines()]
    assert counts == ["phase1: 0/2", "phase1: 1/2", "phase1: 2/2"]
    log = io.StringIO()
    with progress(total=100, desc="phase3", unit="step", file=log) as bar:
        for step in range(100):
            bar.update()
            bar.set_postfix(loss=f"{step}")  # a postfix redraws at once, whatever mininterval says
    counts = [line.split(" [")[0] for line in log.getvalue().splitlines()]
    assert counts == ["phase3: 0/100", "phase3: 100/100"]  # within 5 s: the start and the end


def test_log_gets_a_line_per_interval():
    log = io.StringIO()
    for _ in progress(range(20), desc="check", unit=" records", file=log, mininterval=0, miniters=1):
        pass
    lines = log.getvalue().splitlines()
    assert len(lines) == len(set(lines)) >= 20  # every refresh is its own line, repeats dropped
    assert lines[-1].startswith("check: 20/20 [")


def test_terminal_gets_the_redrawn_bar():
    term = Terminal()
    with progress(total=5, desc="score meld", unit="clip", file=term, mininterval=0) as bar:
        for _ in range(5):
            bar.update()
    text = term.getvalue()
    assert text.count("\r") >= 5 and "100%|" in text and "5/5" in text
