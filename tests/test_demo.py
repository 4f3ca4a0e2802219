"""The demo chain on a smaller corpus and shorter phases (make demo runs the full size)."""

import json

from nanoemox.demo.run import run_demo


def test_demo_runs_every_stage_and_writes_the_summary(tmp_path, capsys):
    summary = run_demo(tmp_path / "demo-out", scale=0.25, steps_scale=0.05)
    written = json.loads((tmp_path / "demo-out" / "report" / "summary.json").read_text())
    assert written == summary and summary["seconds"] > 0
    assert set(summary["tasks"]) == {"mer", "mir", "erg"}
    for entry in summary["tasks"].values():
        assert 0.0 <= entry["score"] <= 1.0 and 0.0 < entry["chance"] <= 1.0
    report = tmp_path / "demo-out" / "report"
    assert (report / "report.md").is_file() and (report / "scores.png").is_file()
    out = capsys.readouterr().out
    for stage in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "held-out", "chance"):
        assert stage in out


def test_the_demo_corpus_is_the_same_on_every_run(tmp_path):
    """Same seed, same bytes: lossy x264 output varied from run to run, and with it the demo's scores."""
    import hashlib

    from nanoemox.demo.corpus import make_corpus

    def digests(root):
        return {p.relative_to(root): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.*"))}

    make_corpus(tmp_path / "a", scale=0.05)
    make_corpus(tmp_path / "b", scale=0.05)
    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert len(first) > 20 and first == second
