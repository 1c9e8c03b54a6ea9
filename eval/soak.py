"""Soak test of the REST service: mixed traffic against a real `cadenza serve` on loopback, with SIGKILLs.

    python -m eval.soak --minutes 10 [--books 2] [--kills 3] [--clients 6] [--seed 0] [--json OUT]

Auth is on. Concurrent clients upload recordings (the PercePiano example WAV and performance MIDI, some with
their score MIDI), ask for feedback (JSON and SSE; some SSE clients leave mid-stream), talk to the tutor,
search, and add, replace and delete documents. The server is killed with SIGKILL at random moments
(``--kills`` times) and restarted on the same data home. At the end it checks and prints:

- no 5xx answer (transport errors while the server is down are counted apart, they are expected);
- no job stuck: every accepted upload ends ``done`` or ``failed`` with a reason;
- catalogue and indexes consistent: the catalogue's chunk set equals the BM25 and the vector index's;
- no orphaned child process: nothing started with this data home outlives the server;
- resident memory of the server and its children at the start and at the end (printed, not checked).

Exit status 0 when every check holds, 1 otherwise. Every loop is bounded in time and count, and only
loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.settings import Settings
from eval.bench_api import SMALL_FIRST, Server, _free_port, cli

EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"
QUERIES = [
    "pedal blurs the harmony",
    "steady tempo with a metronome",
    "singing tone in the melody",
    "relaxed wrist",
    "voicing a chord",
    "practising slowly",
]
QUESTIONS = [
    "Which part should I practise first?",
    "How do I make the melody sing?",
    "What about my pedalling?",
]


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: int = 0
    disconnects: int = 0
    uploads: list[str] = field(default_factory=list)  # accepted performance ids

    def record(self, action: str, response: httpx.Response) -> None:
        self.actions[action] += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{action}: {response.status_code} {response.text[:200]}")


def processes_of(home: Path) -> list[int]:
    """Every live process started with this data home in its environment (the server and its children)."""
    marker = f"CADENZA_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return sorted(found)


def resident_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


class Workload:
    """The clients' actions. Each picks its next action at random; all answers go to the tally."""

    def __init__(
        self, base: str, keys: dict[str, dict[str, str]], settings: Settings, rng: random.Random
    ) -> None:
        self.base, self.keys, self.rng, self.tally = base, keys, rng, Tally()
        midi_dir = settings.percepiano_dir / "performance_midi"
        self.midis = sorted(midi_dir.glob("Beethoven_WoO80_*_8bars_*.mid"))[:40]
        self.score_dir = settings.percepiano_dir / "score_midi"
        self.wav = (settings.shared_dir / EXAMPLE).read_bytes()
        self.scored: list[tuple[str, str]] = []  # (student key name, performance id) once done

    def _score_for(self, midi: Path) -> Path | None:
        head, _, segment = midi.stem.rpartition("_")
        score = self.score_dir / f"{head[: head.rindex('bars_') + len('bars')]}_Score_{segment}.mid"
        return score if score.is_file() else None

    async def upload(self, client: httpx.AsyncClient, student: str) -> None:
        files: dict[str, Any]
        if self.rng.random() < 0.3:
            files = {"file": ("take.wav", self.wav, "audio/wav")}
        else:
            midi = self.rng.choice(self.midis)
            files = {"file": (midi.name, midi.read_bytes(), "audio/midi")}
            score = self._score_for(midi)
            if score is not None and self.rng.random() < 0.5:
                files["score"] = (score.name, score.read_bytes(), "audio/midi")
        response = await client.post(
            "/v1/performances",
            headers=self.keys[student],
            files=files,
            data={"composer": "Beethoven", "piece": "32 Variations WoO 80"},
        )
        self.tally.record("upload", response)
        if response.status_code == 202:
            self.tally.uploads.append(response.json()["id"])

    async def refresh_scored(self, client: httpx.AsyncClient, student: str) -> None:
        response = await client.get("/v1/performances", headers=self.keys[student])
        self.tally.record("list", response)
        if response.status_code == 200:
            for item in response.json()["items"]:
                if item["status"] == "done" and (student, item["id"]) not in self.scored:
                    self.scored.append((student, item["id"]))

    async def feedback(self, client: httpx.AsyncClient, student: str) -> None:
        mine = [pid for who, pid in self.scored if who == student]
        if not mine:
            return await self.refresh_scored(client, student)
        body = {"performance_id": self.rng.choice(mine), "level": self.rng.choice(["beginner", "advanced"])}
        if self.rng.random() < 0.5:
            response = await client.post("/v1/feedback", headers=self.keys[student], json=body, timeout=300)
            return self.tally.record("feedback", response)
        await self._stream("feedback_sse", client, "/v1/feedback", self.keys[student], body)

    async def tutor(self, client: httpx.AsyncClient, student: str) -> None:
        mine = [pid for who, pid in self.scored if who == student]
        created = await client.post(
            "/v1/sessions", headers=self.keys[student], json={"performance_id": mine[0]} if mine else {}
        )
        self.tally.record("session", created)
        if created.status_code != 201:
            return
        path = f"/v1/sessions/{created.json()['id']}/messages"
        body = {"content": self.rng.choice(QUESTIONS)}
        if self.rng.random() < 0.5:
            response = await client.post(path, headers=self.keys[student], json=body, timeout=300)
            return self.tally.record("tutor", response)
        await self._stream("tutor_sse", client, path, self.keys[student], body)

    async def _stream(
        self, action: str, client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> None:
        leave_early = self.rng.random() < 0.5
        async with client.stream(
            "POST", path, headers={**headers, "Accept": "text/event-stream"}, json=body, timeout=300
        ) as response:
            self.tally.record(action, response)
            async for line in response.aiter_lines():
                if leave_early and line.startswith("data:"):
                    self.tally.disconnects += 1
                    return  # closing the stream here is the client leaving mid-answer

    async def search(self, client: httpx.AsyncClient, student: str) -> None:
        response = await client.get(
            "/v1/search", headers=self.keys[student], params={"q": self.rng.choice(QUERIES), "k": 5}
        )
        self.tally.record("search", response)

    async def documents(self, client: httpx.AsyncClient, _: str) -> None:
        slug = self.rng.choice(["soak_notes_a", "soak-notes-b", "soak notes c"])  # slugs that are not ids too
        roll = self.rng.random()
        if roll < 0.3:
            response = await client.delete(f"/v1/documents/{slug}", headers=self.keys["admin"])
            return self.tally.record("document_delete", response)
        text = "\n\n".join(
            f"Practise passage {self.rng.randrange(1000)} slowly with a light wrist, then in tempo."
            for _ in range(6)
        )
        response = await client.post(
            "/v1/documents",
            headers=self.keys["admin"],
            data={"slug": slug, "title": slug},
            files={"file": (f"{slug}.md", text.encode(), "text/markdown")},
            timeout=300,
        )
        self.tally.record("document_put", response)

    async def client_loop(self, student: str, deadline: float) -> None:
        actions = [
            (self.upload, 2),
            (self.feedback, 3),
            (self.tutor, 2),
            (self.search, 4),
            (self.documents, 1),
        ]
        choices, weights = zip(*actions, strict=True)
        async with httpx.AsyncClient(base_url=self.base, timeout=120) as client:
            while time.monotonic() < deadline:
                action = self.rng.choices(choices, weights)[0]
                limited = self.tally.statuses[429]
                try:
                    await action(client, student)
                except httpx.TransportError:  # the server is down (killed) or restarting: expected here
                    self.tally.transport_errors += 1
                    await asyncio.sleep(1.0)
                if self.tally.statuses[429] > limited:  # a polite client waits before it asks again
                    await asyncio.sleep(2.0)


async def _killer(server: Server, kills: int, deadline: float, rng: random.Random, log: list[str]) -> None:
    start = time.monotonic()
    moments = sorted(start + rng.uniform(0.15, 0.85) * (deadline - start) for _ in range(kills))
    for moment in moments:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        server.kill()
        log.append(f"SIGKILL at {moment - start:.0f} s")
        await asyncio.to_thread(server.start)


def _wait_for_jobs(
    base: str, keys: dict[str, dict[str, str]], uploads: list[str], timeout_s: float
) -> dict[str, Any]:
    """Every accepted upload's final state (admin reads everyone's)."""
    deadline = time.monotonic() + timeout_s
    states: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=30, headers=keys["admin"]) as client:
        pending = list(uploads)
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                response = client.get(f"/v1/performances/{pid}")
                states[pid] = response.json()
                if response.status_code == 404 or states[pid].get("status") in ("done", "failed"):
                    pending.remove(pid)
            if pending:
                time.sleep(2.0)
    return states


def _index_consistency(settings: Settings) -> dict[str, Any]:
    """Open the retriever the way a restarted server does and compare the chunk sets it holds."""
    from rag.retrieval.retriever import Retriever

    retriever = Retriever.open(settings.retrieval_config())
    try:
        catalogue, lexical, vectors = (
            retriever.catalogue.chunk_seqs(),
            retriever.lexical.ids(),
            retriever.vectors.ids(),
        )
        return {"chunks": len(catalogue), "consistent": catalogue == lexical == vectors}
    finally:
        retriever.close()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the mixed-traffic phase")
    parser.add_argument("--books", type=int, default=2, help="corpus books indexed first (small ones)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the server during the traffic")
    parser.add_argument("--clients", type=int, default=6, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fallback-llm",
        action="store_true",
        help="point the LLM at a closed port (fallback feedback) instead of the local llama.cpp model",
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cadenza-soak-embeddings")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    return parser.parse_args(argv)


def _environment(home: Path, settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")},
        "CADENZA_HOME": str(home),
        "CADENZA_SHARED_DIR": str(settings.shared_dir),
        "CADENZA_EMBEDDING_CACHE_DIR": str(args.cache),
        "CADENZA_RATE_LIMIT_PER_MINUTE": "100000",
        "CADENZA_LLM_MAX_TOKENS": "120",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    if args.fallback_llm:  # nothing listens on port 9: every answer is the deterministic fallback
        env.update(
            {
                "CADENZA_LLM_API_BASE": "http://127.0.0.1:9/v1",
                "CADENZA_LLM_MODEL": "openai/none",
                "CADENZA_LLM_RETRIES": "0",
            }
        )
    return env


def run_soak(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    home = Path(tempfile.mkdtemp(prefix="cadenza-soak-"))
    env = _environment(home, settings, args)
    keys = {
        name: {"Authorization": f"Bearer {cli(env, 'keys', 'create', '--role', role)}"}
        for name, role in (("admin", "admin"), ("anna", "student"), ("ben", "student"))
    }
    server = Server(env, _free_port(), home / "server.log")
    rng = random.Random(args.seed)
    kills: list[str] = []
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=1800, headers=keys["admin"]) as client:
            for slug in SMALL_FIRST[: args.books]:
                path = settings.corpus_dir / f"{slug}.txt"
                client.post(
                    "/v1/documents",
                    data={"slug": slug},
                    files={"file": (path.name, path.read_bytes(), "text/plain")},
                ).raise_for_status()
        rss_start = resident_mb(processes_of(home))
        workload = Workload(server.base, keys, settings, rng)
        deadline = time.monotonic() + args.minutes * 60

        async def traffic() -> None:
            students = ["anna", "ben"]
            await asyncio.gather(
                _killer(server, args.kills, deadline, rng, kills),
                *(workload.client_loop(students[i % 2], deadline) for i in range(args.clients)),
            )

        asyncio.run(traffic())
        jobs = _wait_for_jobs(server.base, keys, workload.tally.uploads, timeout_s=600)
        rss_end = resident_mb(processes_of(home))
    finally:
        server.stop()
    time.sleep(2.0)  # children get a moment to notice their parent is gone
    orphans = processes_of(home)
    for pid in orphans:  # leave the machine clean whatever the verdict
        os.kill(pid, signal.SIGKILL)
    tally = workload.tally
    unfinished = [pid for pid, body in jobs.items() if body.get("status") not in ("done", "failed")]
    unexplained = [
        pid for pid, body in jobs.items() if body.get("status") == "failed" and not body.get("error")
    ]
    results = {
        "setup": {
            "minutes": args.minutes,
            "books": args.books,
            "clients": args.clients,
            "seed": args.seed,
            "llm": "fallback" if args.fallback_llm else "local",
            "cores": os.cpu_count(),
        },
        "kills": kills,
        "requests": dict(tally.actions),
        "statuses": {str(k): v for k, v in tally.statuses.items()},
        "transport_errors_while_down": tally.transport_errors,
        "stream_disconnects": tally.disconnects,
        "uploads_accepted": len(tally.uploads),
        "uploads_done": sum(1 for b in jobs.values() if b.get("status") == "done"),
        "uploads_failed": sum(1 for b in jobs.values() if b.get("status") == "failed"),
        "index": _index_consistency(
            Settings(home=home, shared_dir=settings.shared_dir, embedding_cache_dir=args.cache)
        ),
        "orphans": orphans,
        "rss_mb": {"start": rss_start, "end": rss_end},
        "server_errors": tally.server_errors[:20],
        "home": str(home),
    }
    results["checks"] = {
        "no_5xx": not tally.server_errors,
        "no_stuck_job": not unfinished and len(jobs) == len(tally.uploads),
        "every_failure_has_a_reason": not unexplained,
        "indexes_consistent": results["index"]["consistent"],
        "no_orphans": not orphans,
    }
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    results = run_soak(args)
    print(json.dumps({k: v for k, v in results.items() if k != "server_errors"}, indent=2))
    for line in results["server_errors"]:
        print(f"5xx: {line}")
    print("soak: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in results["checks"].items()))
    print(f"soak: data home and server log kept in {results['home']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
