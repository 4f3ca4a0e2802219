"""Extraction throughput on generated clips, tiny preset, CPU: decode only (each backend), the decode stage, the
decode stage + encoders clip by clip, and the whole Ray job; the job's rate as a ratio of decode-only; where the
job's CPU time goes; peak memory; bytes per clip.

    .venv/bin/python bench/extract_bench.py --clips 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from nanoemox.config import load_config
from nanoemox.datasets import open_dataset
from nanoemox.extract.decode import decode_clip
from nanoemox.extract.encode import EncodeStage
from nanoemox.extract.job import ExtractOptions, run_extract
from nanoemox.extract.stages import DecodeStage
from nanoemox.shards.index import read_index

from helpers import write_meld_corpus
from results import CpuByRole, PeakMemory, update_section


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    cfg = load_config(preset="tiny", overrides=["extract.num_cpus=2"])
    torch.set_num_threads(1)  # every stage on one thread, as in the job (two would spin against the other stages)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        clip = {"seconds": args.seconds, "fps": 25, "size": args.size}
        root = write_meld_corpus(Path(tmp) / "meld", [clip] * args.clips)
        records = list(open_dataset("meld", root).read("test"))
        figures = {}
        for backend in ("decord", "torchcodec"):
            start = time.perf_counter()
            for record in records:
                decode_clip(record, backend, 8)
            figures[f"decode only ({backend})"] = rate(len(records), time.perf_counter() - start)
        stage, encode = DecodeStage(cfg), EncodeStage(cfg)
        batches = [{"record": [json.dumps(record.to_dict())]} for record in records]  # one clip a call, as in the job
        encode(stage(batches[0]))  # start the worker, load MTCNN and the encoders before timing
        start, encoding, rows = time.perf_counter(), 0.0, []
        for batch in batches:
            rows.append(stage(batch))
            encode_start = time.perf_counter()
            encode(rows[-1])
            encoding += time.perf_counter() - encode_start
        whole = time.perf_counter() - start
        start = time.perf_counter()
        for first in range(0, len(rows), 16):
            encode({key: [value for row in rows[first : first + 16] for value in row[key]] for key in rows[0]})
        encode_ms = {1: encoding * 1000 / len(rows), 16: (time.perf_counter() - start) * 1000 / len(rows)}
        figures["decode stage: decode + resize + faces + audio windows (its worker, clip by clip)"] = rate(
            len(records), whole - encoding
        )
        figures["decode stage + encoders (clip by clip, no Ray)"] = rate(len(records), whole)
        stage.close()
        with PeakMemory() as memory:
            start = time.perf_counter()
            [summary] = run_extract(cfg, ExtractOptions("meld", str(root), str(Path(tmp) / "shards"), split="test"))
            cold = time.perf_counter() - start
        roles = {
            "decode workers": "nanoemox.extract.worker",
            "decode actors": "DecodeStage",
            "encoder actor": "EncodeStage",
        }
        with CpuByRole(roles) as cpu:
            start = time.perf_counter()  # Ray is up now: a second job pays only for its actors and models
            run_extract(cfg, ExtractOptions("meld", str(root), str(Path(tmp) / "warm"), split="test"))
            warm = time.perf_counter() - start
        half = args.clips // 2  # a job of half the clips pays the same start: the difference is the running rate
        start = time.perf_counter()
        run_extract(cfg, ExtractOptions("meld", str(root), str(Path(tmp) / "half"), split="test", limit=half))
        running = rate(args.clips - half, warm - (time.perf_counter() - start))
        index = read_index(Path(tmp) / "shards" / "meld" / "test")
        bytes_per_clip = (
            sum((Path(tmp) / "shards/meld/test" / s["file"]).stat().st_size for s in index["shards"]) / index["total"]
        )
    job, warm_job = rate(summary.done, cold), rate(summary.done, warm)
    sequential = figures["decode stage + encoders (clip by clip, no Ray)"]
    cpu_rows = "\n".join(
        f"| {role} | {seconds * 1000 / summary.done:.0f} |"
        for role, seconds in sorted(cpu.seconds.items(), key=lambda x: -x[1])
    )
    cpu_total = sum(cpu.seconds.values())
    cores = psutil.cpu_count()
    decode = figures[f"decode only ({cfg.extract.backend})"]
    rows = "\n".join(f"| {name} | {value:.2f} |" for name, value in figures.items())
    body = f"""## Extraction (tiny preset, CPU)

`.venv/bin/python bench/extract_bench.py --clips {args.clips} --seconds {args.seconds} --size {args.size}`: {args.clips}
generated {args.seconds:.0f} s {args.size}x{args.size} 25 fps H.264 clips with AAC audio and a face, 2 Ray CPUs.

| stage | clips/s |
|---|---|
{rows}
| whole job, Ray Data, cold (starts Ray, actors, models) | {job:.2f} |
| whole job, Ray Data, Ray already running | {warm_job:.2f} |
| the job once running: (its clips - a half-size job's) / (its time - that job's time) | {running:.2f} |

- Whole job (Ray running) / decode only ({cfg.extract.backend}, the default backend): **{warm_job / decode:.2f}**
  (target >= 0.7); cold: {job / decode:.2f}; the job once running (its start, the same for any number of clips,
  left out): **{running / decode:.2f}**.
- Whole job (Ray running) / the same work clip by clip without Ray: {warm_job / sequential:.2f} (the gain of running
  the stages side by side on {cores} cores, less the cost of starting the actors and handing clips between them).

- The encoders in process, one thread: {encode_ms[1]:.0f} ms a clip one clip a call, {encode_ms[16]:.0f} ms in calls
  of 16 clips (the activations of 16 clips spill the CPU's caches), hence `extract.batch_size: null` = 1 on the CPU.
- Peak memory above the idle machine during the job: {memory.peak / 2**20:.0f} MiB.
- Load average of the machine (shared): {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.
- Bytes per clip in the shards: {bytes_per_clip / 1024:.1f} KB (tiny preset; the full preset stores about 170 KB).

Where the CPU time goes in the job with Ray running: all processes of the job, their start (imports, models)
included; {cpu_total:.0f} CPU s over {warm:.0f} s of wall time on {cores} cores, {cpu_total / warm / cores:.0%} busy.

| process | CPU ms per clip |
|---|---|
{cpu_rows}

At {cpu_total * 1000 / summary.done:.0f} CPU ms per clip, {cores} fully busy cores would extract at most
{cores * summary.done / cpu_total:.2f} clips/s, {cores * summary.done / cpu_total / decode:.2f} of decode only.
"""
    update_section("extract", body)
    print(body)


if __name__ == "__main__":
    main()
