"""Extraction throughput on generated clips, tiny preset, CPU: decode only (each backend), decode + faces,
and the whole Ray job; the job's rate as a ratio of decode-only; peak memory; bytes per clip.

    .venv/bin/python bench/extract_bench.py --clips 40
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import write_meld_corpus  # noqa: E402
from results import PeakMemory, update_section  # noqa: E402

from nanoemox.config import load_config  # noqa: E402
from nanoemox.datasets import open_dataset  # noqa: E402
from nanoemox.extract.decode import decode_clip  # noqa: E402
from nanoemox.extract.job import ExtractOptions, run_extract  # noqa: E402
from nanoemox.extract.stages import DecodeStage  # noqa: E402
from nanoemox.shards.index import read_index  # noqa: E402


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    cfg = load_config(preset="tiny", overrides=["extract.num_cpus=2"])
    with tempfile.TemporaryDirectory() as tmp:
        root = write_meld_corpus(Path(tmp) / "meld", [{"seconds": args.seconds, "fps": 25}] * args.clips)
        records = list(open_dataset("meld", root).read("test"))
        figures = {}
        for backend in ("decord", "torchcodec"):
            start = time.perf_counter()
            for record in records:
                decode_clip(record, backend, 8)
            figures[f"decode only ({backend})"] = rate(len(records), time.perf_counter() - start)
        stage = DecodeStage(cfg)
        stage.process(records[0])  # start the decoder child and load MTCNN before timing
        start = time.perf_counter()
        for record in records:
            stage.process(record)
        figures["decode + faces + audio windows (1 process)"] = rate(len(records), time.perf_counter() - start)
        stage.decoder.close()
        with PeakMemory() as memory:
            start = time.perf_counter()
            [summary] = run_extract(cfg, ExtractOptions("meld", str(root), str(Path(tmp) / "shards"), split="test"))
            total = time.perf_counter() - start
        index = read_index(Path(tmp) / "shards" / "meld" / "test")
        bytes_per_clip = sum((Path(tmp) / "shards/meld/test" / s["file"]).stat().st_size for s in index["shards"]) / index["total"]
    job = rate(summary.done, total)
    decode = figures[f"decode only ({cfg.extract.backend})"]
    rows = "\n".join(f"| {name} | {value:.2f} |" for name, value in figures.items())
    body = f"""## Extraction (tiny preset, CPU)

`.venv/bin/python bench/extract_bench.py --clips {args.clips} --seconds {args.seconds}`: {args.clips} generated
{args.seconds:.0f} s 256x256 25 fps H.264 clips with AAC audio and a face, 2 Ray CPUs.

| stage | clips/s |
|---|---|
{rows}
| whole job, Ray Data, including Ray start-up | {job:.2f} |

- Whole job / decode only ({cfg.extract.backend}, the default backend): **{job / decode:.2f}** (target >= 0.7).
- Peak memory above the idle machine during the job: {memory.peak / 2**20:.0f} MiB.
- Bytes per clip in the shards: {bytes_per_clip / 1024:.1f} KB (tiny preset; the full preset stores about 170 KB).
"""
    update_section("extract", body)
    print(body)


if __name__ == "__main__":
    main()
