"""Shared fixtures. Tests run offline: a model or file that is missing fails fast, never downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from api.settings import DEFAULT_SHARED, Settings  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_cadenza_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from a developer's shell."""
    for key in list(os.environ):
        if key.startswith("CADENZA_") and key != "CADENZA_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (DEFAULT_SHARED / "corpus" / "texts").is_dir():
        pytest.fail(f"shared data not found at {DEFAULT_SHARED}: the repo must sit beside shared/")
    return DEFAULT_SHARED


@pytest.fixture()
def settings(tmp_path: Path, shared_dir: Path) -> Settings:
    """Embedded-default settings with a fresh data home."""
    return Settings(home=tmp_path / "home", shared_dir=shared_dir)


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole test session: no test embeds the same text twice.
    Pass it as ``Settings(embedding_cache_dir=...)`` (or CADENZA_EMBEDDING_CACHE_DIR for subprocesses)."""
    return tmp_path_factory.mktemp("embedding-cache")
