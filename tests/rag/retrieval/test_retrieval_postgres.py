"""The catalogue on PostgreSQL (production's database) through the same Retriever code path."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from rag.retrieval.retriever import Retriever
from tests.retrieval_support import make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture()
def postgres_url() -> str:
    base = os.environ.get("CADENZA_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CADENZA_TEST_POSTGRES_URL is not set (CI always sets it: .ci/services.d/postgres.sh)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cadenza_retrieval_{uuid.uuid4().hex[:8]}"  # own database: other tests share cadenza_test
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    # A fresh connection: other tests restart the shared server to inject faults.
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_retriever_catalogue_on_postgres(
    postgres_url: str, tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    settings = make_settings(tmp_path / "home", shared_dir, embedding_cache_dir, database_url=postgres_url)
    r = Retriever.open(settings.retrieval_config())
    try:
        text = (
            "Change the damper pedal with every new harmony.\n\nListen for blurred sounds and clear them.\n\n"
            * 3
        )
        doc_id, report = r.index_document(text=text, title="Pedal Notes", slug="pedal_notes")
        assert report.added == 1
        first = r.catalogue.chunk_seqs()
        assert r.lexical.ids() == first == r.vectors.ids()
        hit = r.search("blurred damper pedal", mode="hybrid", k=1)[0]
        assert text[hit.char_start : hit.char_end] == hit.text
        assert r.index_document(text=text, title="Pedal Notes", slug="pedal_notes")[1].skipped == 1
        _, replaced = r.index_document(
            text="Sing the melody over a soft accompaniment.\n\n" * 2, title="Pedal Notes", slug="pedal_notes"
        )
        assert replaced.replaced == 1
        second = r.catalogue.chunk_seqs()
        assert min(second) > max(first)  # chunk keys are never reused, so no index confuses old and new
        assert r.lexical.ids() == second == r.vectors.ids()
        r.remove_document(doc_id)
        assert r.list_documents() == [] and r.vectors.ids() == set()
    finally:
        r.close()
