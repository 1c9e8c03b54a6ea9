from __future__ import annotations

import subprocess
import sys

import pytest

from api.errors import CadenzaError, InputError, NotFound
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


def test_error_hierarchy_carries_http_status() -> None:
    assert issubclass(InputError, CadenzaError) and InputError.http_status == 400
    assert NotFound("x").http_status == 404


def test_cli_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "api.cli", "--help"], capture_output=True, text=True, check=True)
    assert "cadenza" in out.stdout.lower()
