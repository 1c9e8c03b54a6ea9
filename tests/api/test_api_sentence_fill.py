"""A first `cadenza feedback` indexes the corpus without its sentence vectors (they cost minutes) and marks
the index; the REST service fills them in the background as it starts, whether or not it warms the LLM, and
searches work meanwhile. Real retriever, real MiniLM, a real book of the shared corpus."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from api.settings import Settings
from rag.retrieval.indexing import SENTENCES_DEFERRED
from rag.retrieval.retriever import Retriever
from tests.api_support import start_api


def test_the_service_fills_the_sentence_vectors_a_first_run_left(tmp_path: Path, shared_dir: Path) -> None:
    settings = Settings(home=tmp_path / "home", shared_dir=shared_dir, embedding_cache_dir=tmp_path / "cache")
    book = next(settings.corpus_dir.glob("schumann_*.txt"))
    retriever = Retriever(settings.retrieval_config())
    try:
        retriever.index_paths([book], manifest=settings.corpus_manifest, sentence_vectors=False)
        n_chunks = retriever.n_chunks
    finally:
        retriever.close()
    marker = settings.retrieval_config().index_dir / SENTENCES_DEFERRED
    db = sqlite3.connect(tmp_path / "cache" / "embeddings.sqlite")
    (before,) = db.execute("SELECT count(*) FROM embeddings").fetchone()
    assert marker.exists() and before <= n_chunks  # chunk vectors only
    for api in start_api(settings):  # the LLM warm-up is off here: the fill does not depend on it
        response = api.client.get("/v1/search", params={"q": "practise slowly"}, headers=api.student)
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 300
        while marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not marker.exists()
    (after,) = db.execute("SELECT count(*) FROM embeddings").fetchone()
    db.close()
    assert after > before + n_chunks  # several sentences a chunk
