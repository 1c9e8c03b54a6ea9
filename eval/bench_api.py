"""Load benchmark of the REST service: a real `cadenza serve` on loopback, a bounded number of requests
sent with httpx async, throughput and latency percentiles, and 0 errors required.

    .venv/bin/python -m eval.bench_api [--books 4] [--search-requests 400] [--feedback-requests 60]
                                       [--concurrency 8] [--workers 1] [--json OUT]

It builds a fresh data home (the embedding cache is reused between runs), indexes a few corpus books
through POST /v1/documents, uploads the PercePiano example and waits for its score, then measures
  * GET /healthz        the HTTP stack alone: the baseline the other figures are compared with;
  * GET /v1/search      hybrid retrieval (BM25 + MiniLM + RRF), varied queries;
  * POST /v1/feedback   for the scored performance with the fallback generator (the LLM address points
                        at a closed port, so the LLM fails at once); "excluding LLM" subtracts the
                        server-reported LLM time.
Goals on 2 cores: search >= 50 req/s; feedback p95 excluding LLM time <= 300 ms. The rate limit is
raised for the run. Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.settings import REPO_ROOT, Settings

QUERIES = [
    "my pedalling blurs the harmonies",
    "how to practise scales evenly",
    "keeping a steady tempo",
    "relaxed wrist and arm weight",
    "playing with a singing tone",
    "memorising a piece",
    "dynamics and phrasing of a melody",
    "staccato touch",
    "fingering for fast passages",
    "nervousness when playing in public",
    "using the metronome",
    "voicing the melody over the accompaniment",
    "rubato in Chopin",
    "slow practice",
    "octave technique",
    "listening to yourself while playing",
]
SMALL_FIRST = [
    "saint_saens_execution_of_music",
    "schumann_advice_to_young_musicians",
    "matthay_forearm_rotation",
    "matthay_on_memorizing",
]
EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"


@dataclass
class Run:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)  # feedback: server time excluding the LLM
    stages_ms: dict[str, list[float]] = field(default_factory=dict)  # feedback: server-reported stages
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = len(self.latencies_ms)
        out: dict[str, Any] = {
            "requests": ok + len(self.errors),
            "errors": len(self.errors),
            "throughput_rps": round(ok / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": _pct(self.latencies_ms, 50),
            "p95_ms": _pct(self.latencies_ms, 95),
        }
        if self.server_ms:
            out["p50_excl_llm_ms"] = _pct(self.server_ms, 50)
            out["p95_excl_llm_ms"] = _pct(self.server_ms, 95)
        if self.stages_ms:
            out["stage_p50_ms"] = {stage: _pct(values, 50) for stage, values in self.stages_ms.items()}
        if self.errors:
            out["first_errors"] = self.errors[:3]
        return out


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(client: httpx.AsyncClient, name: str, n: int, concurrency: int, make_request) -> Run:  # type: ignore[no-untyped-def]
    run = Run(name)
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            try:
                response = await make_request(client, i)
            except httpx.HTTPError as err:
                run.errors.append(f"{type(err).__name__}: {err}")
                continue
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code >= 400:
                run.errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            run.latencies_ms.append(elapsed)
            if name == "feedback":
                latency = response.json()["latency_ms"]
                run.server_ms.append(latency["total"] - latency.get("llm", 0.0))
                for stage, ms in response.json()["feedback"].get("latency_ms", {}).items():
                    run.stages_ms.setdefault(stage, []).append(ms)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.wall_s = time.perf_counter() - start
    return run


def _setup(base: str, admin: dict[str, str], student: dict[str, str], settings: Settings, books: int) -> str:
    """Index books and score the example; returns the performance id."""
    with httpx.Client(base_url=base, timeout=1800) as client:
        for slug in SMALL_FIRST[:books]:
            path = settings.corpus_dir / f"{slug}.txt"
            t = time.perf_counter()
            response = client.post(
                "/v1/documents",
                headers=admin,
                data={"slug": slug},
                files={"file": (path.name, path.read_bytes(), "text/plain")},
            )
            response.raise_for_status()
            print(
                f"  indexed {slug}: {response.json()['report']['chunks_added']} chunks "
                f"({time.perf_counter() - t:.1f} s)",
                flush=True,
            )
        wav = (settings.shared_dir / EXAMPLE).read_bytes()
        created = client.post(
            "/v1/performances",
            headers=student,
            files={"file": ("example.wav", wav, "audio/wav")},
            data={"composer": "Beethoven", "piece": "32 Variations WoO 80"},
        )
        created.raise_for_status()
        performance_id = created.json()["id"]
        while (body := client.get(f"/v1/performances/{performance_id}", headers=student).json())[
            "status"
        ] not in ("done", "failed"):
            time.sleep(0.5)
        if body["status"] != "done":
            raise SystemExit(f"bench: scoring the example failed: {body['error']}")
        return performance_id


async def _measure(
    base: str, student: dict[str, str], performance_id: str, args: argparse.Namespace
) -> list[Run]:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits, headers=student) as client:
        for i in range(8):  # warm-up: models loaded, caches and connections ready
            await client.get("/v1/search", params={"q": QUERIES[i % len(QUERIES)]})
        await client.post("/v1/feedback", json={"performance_id": performance_id})

        async def healthz(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/healthz")

        async def search(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get(
                "/v1/search",
                params={
                    "q": QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}"),
                    "mode": args.mode,
                    "k": 5,
                    **({"second_model": "true"} if args.second_model else {}),
                },
            )

        async def feedback(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.post(
                "/v1/feedback",
                json={
                    "performance_id": performance_id,
                    "level": ["beginner", "intermediate", "advanced"][i % 3],
                },
            )

        runs = [
            await _load(client, "healthz", args.search_requests, args.concurrency, healthz),
            await _load(client, "search", args.search_requests, args.concurrency, search),
            await _load(client, "feedback", args.feedback_requests, max(1, args.concurrency // 2), feedback),
        ]
    return runs


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=4, help="corpus books to index (small ones first)")
    parser.add_argument("--search-requests", type=int, default=400)
    parser.add_argument("--feedback-requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="`cadenza serve --workers`")
    parser.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid", "rerank"])
    parser.add_argument(
        "--second-model",
        action="store_true",
        help="search with the second model on the head (the REST default skips it)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cadenza-bench-embeddings",
        help="embedding cache kept between runs",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    return parser.parse_args(argv)


def server_env(home: Path, settings: Settings, cache: Path) -> dict[str, str]:
    """The environment of a benchmark server: its own home, the shared data, no CADENZA_ setting of the caller's."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")},
        "CADENZA_HOME": str(home),
        "CADENZA_SHARED_DIR": str(settings.shared_dir),
        "CADENZA_EMBEDDING_CACHE_DIR": str(cache),
        "CADENZA_RATE_LIMIT_PER_MINUTE": "10000000",
        # The fallback generator: nothing listens on port 9, so the LLM call fails at once.
        "CADENZA_LLM_API_BASE": "http://127.0.0.1:9/v1",
        "CADENZA_LLM_MODEL": "openai/none",
        "CADENZA_LLM_RETRIES": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    if os.environ.get("CADENZA_DATABASE_URL"):
        env["CADENZA_DATABASE_URL"] = os.environ["CADENZA_DATABASE_URL"]
    return env


def cli(env: dict[str, str], *cli_args: str) -> str:
    """Run `cadenza ARGS` with that environment and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *cli_args],
        env=env,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


class Server:
    """`cadenza serve` on loopback that can be killed (SIGKILL) and started again on the same home."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, *, workers: int = 1) -> None:
        self.env, self.port, self.log_path, self.workers = env, port, log_path, workers
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 180.0) -> None:
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise SystemExit("cadenza serve did not start:\n" + self.log_path.read_text(errors="replace")[-2000:])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


@contextlib.contextmanager
def running_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> Iterator[str]:
    """`cadenza serve` on loopback until the block ends; yields its base URL once /healthz answers."""
    server = Server(env, port, log_path, workers=workers)
    server.start()
    try:
        yield server.base
    finally:
        server.stop()


def _summarize(runs: list[Run], args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {run.name: run.summary() for run in runs}
    baseline = results["healthz"]["throughput_rps"] or float("nan")
    results["search"]["vs_healthz_throughput"] = round(results["search"]["throughput_rps"] / baseline, 3)
    results["goals"] = {
        "search_rps>=50": results["search"]["throughput_rps"] >= 50,
        "feedback_p95_excl_llm<=300ms": results["feedback"].get("p95_excl_llm_ms", float("inf")) <= 300,
        "zero_errors": all(
            r["errors"] == 0 for name, r in results.items() if name in ("healthz", "search", "feedback")
        ),
    }
    results["setup"] = {
        "books": args.books,
        "mode": args.mode,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "cores": os.cpu_count(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    return results


def _print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'':10} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p50 excl LLM':>13} {'p95 excl LLM':>13}"
    )
    for name in ("healthz", "search", "feedback"):
        r = results[name]
        print(
            f"{name:10} {r['requests']:>8} {r['errors']:>6} {r['throughput_rps']:>8} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {r.get('p50_excl_llm_ms', ''):>13} {r.get('p95_excl_llm_ms', ''):>13}"
        )
    print(f"search throughput = {results['search']['vs_healthz_throughput']} x the /healthz baseline")
    stages = results["feedback"].get("stage_p50_ms", {})
    print("feedback stages (server, p50 ms): " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in results["goals"].items()))
    print(f"(load average at the end: {results['setup']['load_avg_1m_at_end']} on {os.cpu_count()} cores)")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    settings = Settings()
    home = Path(tempfile.mkdtemp(prefix="cadenza-bench-"))
    env = server_env(home, settings, args.cache)
    admin = {"Authorization": f"Bearer {cli(env, 'keys', 'create', '--role', 'admin')}"}
    student = {"Authorization": f"Bearer {cli(env, 'keys', 'create', '--role', 'student')}"}
    try:
        with running_server(env, _free_port(), args.workers, home / "server.log") as base:
            print(
                f"bench: cadenza serve on {base} (workers={args.workers}, cores={os.cpu_count()}); setting up",
                flush=True,
            )
            performance_id = _setup(base, admin, student, settings, args.books)
            runs = asyncio.run(_measure(base, student, performance_id, args))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    results = _summarize(runs, args)
    _print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["goals"]["zero_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
