"""Settings validation and the locations derived from it, with no ../shared (the unit_settings fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings


def test_unit_settings_point_at_no_shared_data(unit_settings: Settings, tmp_path: Path) -> None:
    assert unit_settings.home == (tmp_path / "home").resolve()
    assert not unit_settings.shared_dir.exists()
    assert unit_settings.corpus_dir == unit_settings.shared_dir / "corpus" / "texts"
    assert unit_settings.corpus_manifest == unit_settings.shared_dir / "corpus" / "MANIFEST.tsv"
    assert unit_settings.percepiano_dir == unit_settings.shared_dir / "data" / "percepiano"
    assert unit_settings.eval_dir == unit_settings.shared_dir / "eval"


def test_defaults_derive_from_home(unit_settings: Settings) -> None:
    assert unit_settings.resolved_database_url == f"sqlite:///{unit_settings.home / 'cadenza.db'}"
    assert unit_settings.resolved_embedding_cache_dir == unit_settings.home / "embedding-cache"


def test_explicit_locations_win(tmp_path: Path) -> None:
    s = Settings(
        home=tmp_path,
        shared_dir=tmp_path / "s",
        database_url="postgresql://u@h/db",
        embedding_cache_dir=tmp_path / "cache",
    )
    assert s.resolved_database_url == "postgresql://u@h/db"
    assert s.resolved_embedding_cache_dir == (tmp_path / "cache").resolve()


def test_paths_are_expanded_and_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    s = Settings(home=Path("~/data"), shared_dir=Path("rel"))
    assert s.home == (tmp_path / "data").resolve()
    assert s.shared_dir == (tmp_path / "rel").resolve()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rrf_k", 0),
        ("top_k", 0),
        ("chunk_overlap", 0.5),
        ("chunk_overlap", -0.1),
        ("api_port", 0),
        ("api_port", 65536),
        ("rescore_weight_bm25", 1.5),
        ("max_duration_s", 0),
        ("local_llm_ctx", 256),
        ("bm25_backend", "whoosh"),
        ("vector_backend", "chroma"),
        ("feedback_strategy", "always"),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: object, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(home=tmp_path, shared_dir=tmp_path, **{field: value})


def test_rescore_shares_cannot_exceed_one(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at most 1"):
        Settings(home=tmp_path, shared_dir=tmp_path, rescore_weight_bm25=0.7, rescore_weight_sentence=0.4)
    ok = Settings(home=tmp_path, shared_dir=tmp_path, rescore_weight_bm25=0.6, rescore_weight_sentence=0.4)
    assert ok.rescore_weight_bm25 + ok.rescore_weight_sentence == pytest.approx(1.0)


def test_environment_values_are_validated_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CADENZA_TOP_K", "7")
    monkeypatch.setenv("CADENZA_BM25_BACKEND", "fts5")
    s = Settings(home=tmp_path)
    assert (s.top_k, s.bm25_backend) == (7, "fts5")
    monkeypatch.setenv("CADENZA_TOP_K", "none")
    with pytest.raises(ValidationError, match="top_k"):
        Settings(home=tmp_path)
