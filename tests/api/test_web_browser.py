"""The student flow in real headless Chromium (Debian's, driven by playwright-core) against a real
`cadenza serve`: real scorer, retriever over a small corpus slice, feedback and chat with the local LLM.
Auth is off on loopback (the embedded default); a second test starts the server with auth on and checks
that the page asks for a key once and keeps it for the tab. Screenshots go to results/ (CI artefacts).

Runtime: dominated by indexing the slice, scoring the 14 s example and two LLM answers (minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scorer.training.dataset import score_midi_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO / "tests" / "browser"
RESULTS = REPO / "results"
CHROMIUM = Path("/usr/bin/chromium")
# A small slice of the corpus (pedalling, touch, practice advice) keeps indexing to seconds.
CORPUS_SLICE = (
    "lhevinne_basic_principles.txt",
    "matthay_forearm_rotation.txt",
    "schumann_advice_to_young_musicians.txt",
)


def _require_tools() -> str:
    node = shutil.which("node")
    missing = [
        what
        for what, ok in [
            ("node", node),
            ("/usr/bin/chromium", CHROMIUM.is_file()),
            ("playwright-core", (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()),
        ]
        if not ok
    ]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run .ci/setup.d/40-browser.sh")
    return str(node)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path, shared_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")}
    env.update(
        CADENZA_HOME=str(home),
        CADENZA_SHARED_DIR=str(shared_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        **extra,
    )
    return env


def _cli(args: list[str], env: dict[str, str], timeout: float) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, (
        f"cadenza {' '.join(args)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    )
    return run.stdout


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            cwd=REPO,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"cadenza serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"cadenza serve did not answer /healthz in 180 s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    _require_tools()
    home = tmp_path_factory.mktemp("web") / "home"
    slice_paths = [str(shared_dir / "corpus" / "texts" / name) for name in CORPUS_SLICE]
    out = _cli(
        ["index", *slice_paths, "--manifest", str(shared_dir / "corpus" / "MANIFEST.tsv"), "--no-progress"],
        _env(home, shared_dir),
        timeout=900,
    )
    assert "documents: 3 added" in out, out
    return home


def _run_flow(node: str, script: str, args: list[str], server: Server) -> dict:
    run = subprocess.run(
        [node, str(BROWSER_DIR / script), *args], cwd=REPO, capture_output=True, text=True, timeout=1500
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, (
        f"{script} failed: {run.stderr[-3000:]}\nreport: {lines[-1] if lines else ''}\n"
        f"server log:\n{server.tail()}"
    )
    return json.loads(lines[-1])


# The bundled example is a sound performance (the scorer finds no weak spot in it), so the flow uploads a
# performance the PercePiano raters judged weak: among the lowest interpretation ratings, 27 s, rendered
# from its MIDI with Debian's fluidsynth, the way training renders were made.
WEAK_PERFORMANCE = "Schubert_D960_mv3_8bars_3_31"


def _render_weak_performance(shared_dir: Path, out: Path) -> Path:
    midi = shared_dir / "data" / "percepiano" / "performance_midi" / f"{WEAK_PERFORMANCE}.mid"
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-g",
            "1.0",
            "-r",
            "22050",
            "-F",
            str(out),
            "/usr/share/sounds/sf2/FluidR3_GM.sf2",
            str(midi),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _llm_servers() -> set[int]:
    """Process ids of the llama.cpp servers running on this machine (from /proc: no procps needed)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"llama_cpp.server" in cmdline.read_bytes():
                found.add(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            pass
    return found


def test_student_flow_in_chromium(home: Path, shared_dir: Path, tmp_path: Path) -> None:
    node = _require_tools()
    RESULTS.mkdir(exist_ok=True)
    recording = _render_weak_performance(shared_dir, tmp_path / "weak-performance.wav")
    llm_servers = _llm_servers()
    server = Server(_env(home, shared_dir, CADENZA_AUTH_ENABLED="false"), RESULTS / "web-server.log")
    try:
        shot = RESULTS / "web-page.png"
        score = score_midi_path(shared_dir / "data" / "percepiano", WEAK_PERFORMANCE)
        report = _run_flow(
            node,
            "student_flow.mjs",
            [
                "--url",
                server.url,
                "--screenshot",
                str(shot),
                "--timeout-s",
                "900",
                "--upload",
                str(recording),
                "--score",
                str(score),
            ],
            server,
        )
    finally:
        server.stop()
    # the local LLM server that `cadenza serve` started for the feedback stops with it (no orphan)
    deadline = time.monotonic() + 15
    while _llm_servers() - llm_servers and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _llm_servers() - llm_servers, "cadenza serve left its llama.cpp server running"
    assert report["radar"]["points"] == 19 and report["radar"]["rows"] == 19
    assert report["radar"]["quality"] + report["radar"]["character"] == 19
    assert report["weak_spots"] >= 1
    assert any("(bars " in line for line in report["spot_list"])  # the score sent beside it numbered them
    assert abs(report["seek"]["player_s"] - report["seek"]["spot_start_s"]) < 0.75
    assert report["citation_buttons"] >= 1 and len(report["passage"]["text"]) > 20
    assert len(report["chat_answer"].strip()) > 10
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank image


def test_page_asks_for_a_key_when_auth_is_on(home: Path, shared_dir: Path) -> None:
    node = _require_tools()
    env = _env(home, shared_dir, CADENZA_AUTH_ENABLED="true")
    key = _cli(["keys", "create", "--role", "student"], env, timeout=120).strip().splitlines()[-1]
    server = Server(env, RESULTS / "web-server-auth.log")
    try:
        report = _run_flow(
            node,
            "auth_flow.mjs",
            ["--url", server.url, "--key", key, "--screenshot", str(RESULTS / "web-auth.png")],
            server,
        )
    finally:
        server.stop()
    assert report["prompted"] == 1  # asked once, then the key from sessionStorage was reused
    assert report["upload_status"] == 202
    assert report["stored_key"] is True
