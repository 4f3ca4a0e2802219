"""The demo corpus (the demo itself runs as a recipe: tests/reproduce/test_run.py)."""


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
