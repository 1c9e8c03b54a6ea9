"""The REST service's first feedback after a start, with feedback readied as the service starts (the embedded
LLM loaded and the prompt's fixed part read, the retriever opened) and without (issue 18's cost goal: first
text the student sees <= 10 s, whole feedback <= 60 s).

    python -m eval.bench_api_warm_up --home DATA_HOME [--runs 3] [--idle-s 0] [--audio] [--json OUT]

Each run starts a fresh `cadenza serve` on loopback over DATA_HOME (an indexed corpus: `cadenza index`; the
runs add performances to its database), waits ``--idle-s`` after /healthz first answers (0: the student
arrives as the service starts), uploads one PercePiano MIDI performance with its score (``--audio``: the
example WAV, no score), waits for the score, then asks for feedback as the web page does (`Accept:
text/event-stream`) and times the first rendered part (the first `delta`) and the `done` event from the
feedback request. Runs alternate warm-up off and on (`CADENZA_LOCAL_LLM_WARM_UP`), so both see the same
machine; medians and the on/off ratios are printed."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.settings import Settings
from eval.bench_api import _free_port, running_server

RECORDING = "data/percepiano/performance_midi/Beethoven_WoO80_var8_8bars_2_6.mid"
SCORE = "data/percepiano/score_midi/Beethoven_WoO80_var8_8bars_Score_6.mid"
AUDIO = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"  # --audio: a recording, no score


def server_env(home: Path, shared_dir: Path, warm_up: bool) -> dict[str, str]:
    """The embedded defaults on ``home``; auth off (loopback only), so no keys are needed."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")},
        "CADENZA_HOME": str(home),
        "CADENZA_SHARED_DIR": str(shared_dir),
        "CADENZA_AUTH_ENABLED": "false",
        "CADENZA_LOCAL_LLM_WARM_UP": "true" if warm_up else "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def one_run(base: str, shared_dir: Path, audio: bool = False) -> dict[str, Any]:
    """Upload, wait for the score, stream the feedback: seconds for each step."""
    with httpx.Client(base_url=base, timeout=900) as client:
        started = time.perf_counter()
        files = (
            [("file", ("take.wav", (shared_dir / AUDIO).read_bytes(), "audio/wav"))]
            if audio
            else [
                ("file", ("take.mid", (shared_dir / RECORDING).read_bytes(), "audio/midi")),
                ("score", ("score.mid", (shared_dir / SCORE).read_bytes(), "audio/midi")),
            ]
        )
        created = client.post("/v1/performances", files=files)
        created.raise_for_status()
        performance_id = created.json()["id"]
        while (body := client.get(f"/v1/performances/{performance_id}").json())["status"] not in (
            "done",
            "failed",
        ):
            time.sleep(0.2)
        if body["status"] != "done":
            raise SystemExit(f"bench: scoring failed: {body['error']}")
        scored = time.perf_counter()
        first_part: float | None = None
        done: dict[str, Any] | None = None
        event = ""
        with client.stream(
            "POST",
            "/v1/feedback",
            json={"performance_id": performance_id},
            headers={"Accept": "text/event-stream"},
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "delta" and first_part is None:
                    first_part = time.perf_counter()
                elif line.startswith("data:") and event == "done":
                    done = json.loads(line.split(":", 1)[1])
        finished = time.perf_counter()
    feedback = (done or {}).get("feedback", {})
    return {
        "scoring_s": round(scored - started, 2),
        "first_part_s": round(first_part - scored, 2) if first_part is not None else None,
        "feedback_s": round(finished - scored, 2),
        "upload_to_feedback_s": round(finished - started, 2),
        "generator": feedback.get("generator"),
        "server_latency_ms": feedback.get("latency_ms"),
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.bench_api_warm_up", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--home", type=Path, required=True, help="a data home with the corpus indexed")
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (off, on)")
    parser.add_argument("--audio", action="store_true", help="upload the example WAV (no score) instead")
    parser.add_argument(
        "--idle-s",
        type=float,
        default=0.0,
        help="seconds between the start (/healthz answers) and the upload",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    shared_dir = Settings().shared_dir
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for i in range(args.runs):
        for name in ("off", "on"):
            env = server_env(args.home, shared_dir, warm_up=name == "on")
            with running_server(env, _free_port(), 1, args.home / "logs" / "bench-warm-up.log") as base:
                time.sleep(args.idle_s)
                result = one_run(base, shared_dir, args.audio)
            runs[name].append(result)
            shown = {k: v for k, v in result.items() if k != "server_latency_ms"}
            print(f"run {i + 1} warm-up {name}: {json.dumps(shown)}", flush=True)
    keys = ("scoring_s", "first_part_s", "feedback_s", "upload_to_feedback_s")
    summary = {name: {k: _median(rs, k) for k in keys} for name, rs in runs.items()}
    ratios = {
        k: round(summary["on"][k] / summary["off"][k], 3) if summary["on"][k] and summary["off"][k] else None
        for k in keys
    }
    print(f"\n{'median s':22} {'off':>8} {'on':>8} {'on/off':>8}")
    for k in keys:
        print(f"{k:22} {summary['off'][k]!s:>8} {summary['on'][k]!s:>8} {ratios[k]!s:>8}")
    print(f"(load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    if args.json:
        figures = {"recording": AUDIO if args.audio else RECORDING, "idle_s": args.idle_s, "runs": runs}
        figures["median_s"] = summary
        args.json.write_text(json.dumps({**figures, "ratio_on_off": ratios}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
