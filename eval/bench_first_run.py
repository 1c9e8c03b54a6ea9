"""The first `cadenza feedback` on a machine that has set up but never indexed: how long the corpus index and
the job take, today's way against the old one (issue 19's first-run goal: setup + first feedback ≤ 10 min).

    python -m eval.bench_first_run [--recording WAV] [--baseline-books 4] [--skip-full]

Each run starts from an empty data home and an empty embedding cache, so nothing is reused between runs:

- **new** (the default settings): `cadenza feedback REC`: the first run indexes the shared corpus, its chunk
  vectors read from the committed file (corpus/vectors/), sentence vectors left to the searches that rank
  each chunk;
- **old**: `cadenza index` with no vector file (every chunk and its sentences embedded, as the first run did
  before), then `cadenza feedback REC`.

The old way takes ~15 min on the whole corpus, so the pair (old vs new) runs on the first ``--baseline-books``
books (a shared folder of symlinks); the new way also runs on the whole corpus. Setup time is not part of it
(`time CADENZA_SETUP_TEST_TOOLS=0 bash .ci/setup` on a fresh machine measures that)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from api.settings import get_settings

CADENZA = str(Path(sys.executable).with_name("cadenza"))


def _shared_subset(shared: Path, books: int, root: Path) -> Path:
    """A shared folder whose corpus holds only the first ``books`` books (symlinks; the rest linked whole)."""
    out = root / "shared"
    (out / "corpus" / "texts").mkdir(parents=True)
    for path in sorted((shared / "corpus" / "texts").glob("*.txt"))[:books]:
        (out / "corpus" / "texts" / path.name).symlink_to(path)
    (out / "corpus" / "MANIFEST.tsv").symlink_to(shared / "corpus" / "MANIFEST.tsv")
    for entry in shared.iterdir():
        if entry.name != "corpus":
            (out / entry.name).symlink_to(entry)
    return out


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, done.stderr


def _indexing_seconds(stderr: str) -> float | None:
    """The indexing bar's last elapsed time (tqdm's [mm:ss<…])."""
    found = re.findall(r"indexing: 100%.*?\[(\d+):(\d+)<", stderr)
    return int(found[-1][0]) * 60 + int(found[-1][1]) if found else None


@dataclass(frozen=True)
class FirstRun:
    mode: str
    books: int
    index_s: float | None  # the corpus index alone (from the bar in the new mode)
    total_s: float  # from an empty home to the printed feedback, index included


def first_run(mode: str, shared: Path, recording: Path, root: Path) -> FirstRun:
    env = dict(os.environ)
    env.update(
        CADENZA_HOME=str(root / f"home-{mode}"),
        CADENZA_SHARED_DIR=str(shared),
        CADENZA_EMBEDDING_CACHE_DIR=str(root / f"cache-{mode}"),
    )
    index_s: float | None = 0.0
    if mode == "old":
        env["CADENZA_VECTOR_FILE"] = str(root / "no-vector-file.npz")  # absent: no precomputed vectors
        index_s, _ = _run([CADENZA, "index"], env)
    feedback_s, stderr = _run([CADENZA, "feedback", str(recording)], env)
    books = len(list((shared / "corpus" / "texts").glob("*.txt")))
    if mode == "old":
        return FirstRun(mode, books, index_s, (index_s or 0.0) + feedback_s)
    return FirstRun(mode, books, _indexing_seconds(stderr), feedback_s)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m eval.bench_first_run", description=__doc__)
    parser.add_argument(
        "--recording",
        type=Path,
        default=settings.percepiano_dir / "examples" / "Beethoven_WoO80_var27_8bars_3_15.wav",
    )
    parser.add_argument("--baseline-books", type=int, default=4)
    parser.add_argument("--skip-full", action="store_true", help="only the old/new pair on the subset")
    args = parser.parse_args(argv)
    runs: list[FirstRun] = []
    with tempfile.TemporaryDirectory(prefix="cadenza-first-run-") as tmp:
        root = Path(tmp)
        subset = _shared_subset(settings.shared_dir, args.baseline_books, root)
        for mode in ("old", "new"):
            runs.append(first_run(mode, subset, args.recording, root / f"subset-{mode}"))
        if not args.skip_full:
            runs.append(first_run("new", settings.shared_dir, args.recording, root / "full"))
    print("| books | mode | corpus index (s) | first run: index + `cadenza feedback` (s) |")
    print("|---:|---|---:|---:|")
    for r in runs:
        index = f"{r.index_s:.0f}" if r.index_s is not None else "?"
        print(f"| {r.books} | {r.mode} | {index} | {r.total_s:.1f} |")
    old, new = runs[0], runs[1]
    print(f"# {old.books} books: old / new first run = {old.total_s / new.total_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
