from __future__ import annotations

import subprocess
import sys

import pytest

from api.errors import STATUS, CadenzaError, InputError, NotFound, status_of
from api.settings import Settings


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("CADENZA_RRF_K", "30")
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.rrf_k == 30
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'h' / 'cadenza.db')}"


def test_settings_reject_invalid_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_RRF_K", "0")
    with pytest.raises(ValueError):
        Settings()


def test_errors_map_to_http_status_in_one_table() -> None:
    from corpus.errors import DocumentNotFound, UnsupportedDocument
    from rag.generation.errors import LLMTimeout
    from rag.retrieval.errors import IndexMismatch, QueryError
    from scorer.errors import RecordingError, RecordingTooLarge

    assert issubclass(InputError, CadenzaError) and status_of(InputError("x")) == (400, "invalid_input")
    assert status_of(NotFound("x")) == (404, "not_found")
    # package errors carry no status of their own: the table gives the most specific one
    assert status_of(RecordingTooLarge("x")) == (413, "too_large")
    assert status_of(RecordingError("x")) == (400, "invalid_input")
    assert status_of(UnsupportedDocument("x")) == (415, "unsupported_media_type")
    assert status_of(DocumentNotFound("x")) == (404, "not_found")
    assert status_of(QueryError("x")) == (400, "invalid_input")
    assert status_of(IndexMismatch("x")) == (409, "index_mismatch")
    assert status_of(LLMTimeout("x")) == (504, "upstream_timeout")
    assert status_of(ValueError("x")) == (500, "internal_error")
    assert not any(hasattr(cls, "http_status") for cls in STATUS)


def test_cli_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "cadenza" in out.stdout.lower()
