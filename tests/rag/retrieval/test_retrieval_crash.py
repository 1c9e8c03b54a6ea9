"""A kill in the middle of indexing leaves no partial document and no duplicate chunk.

The indexing runs in a real subprocess that is SIGKILLed at two points: while a document is being
embedded (before its catalogue transaction) and right after a document's catalogue commit, before
the derived indexes are saved. The only stand-in is the pause that holds the process at that point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.retrieval.retriever import Retriever
from tests.retrieval_support import SMALL_BOOKS, book_paths, make_settings

_CHILD = r"""
import sys, time
from pathlib import Path
from api.settings import Settings
from rag.retrieval import retriever as rmod
from rag.retrieval.embedding_cache import EmbeddingCache

home, cache, shared, marker, point = sys.argv[1:6]
settings = Settings(home=Path(home), embedding_cache_dir=Path(cache), shared_dir=Path(shared))
r = rmod.Retriever.open(settings.retrieval_config())
count = {"n": 0}

def hold(tag):
    Path(marker).write_text(tag)
    time.sleep(600)

if point == "after_commit":
    original = r.catalogue.put_document
    def put_then_hold(*args, **kwargs):
        result = original(*args, **kwargs)
        count["n"] += 1
        if count["n"] == 2:
            hold("committed")
        return result
    r.catalogue.put_document = put_then_hold
else:
    original = EmbeddingCache.embed
    def embed_then_hold(cache, model, texts, encode, **kwargs):
        vectors = original(cache, model, texts, encode, **kwargs)
        if texts and len(texts) > 5:  # a document's chunks or sentences, not a catch-up of nothing
            count["n"] += 1
            # 1: the first document's chunks, then (second stage) its sentences and its chunks for the second
            # model, then the catch-up's read of its chunk vectors after the commit; the kill lands there,
            # before the indexes are saved.
            sentences = settings.rescore and settings.rescore_weight_sentence > 0
            second = settings.rescore and settings.rescore_model is not None and settings.rescore_model_at_index
            if count["n"] == 2 + sentences + second:
                hold("embedding")
        return vectors
    EmbeddingCache.embed = embed_then_hold
texts = Path(shared) / "corpus" / "texts"
r.index_paths([texts / f"{s}.txt" for s in sys.argv[6:]])
"""


@pytest.mark.parametrize("point", ["embedding", "after_commit"])
def test_killed_indexing_leaves_consistent_state(
    point: str, tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    home, marker = tmp_path / "home", tmp_path / "marker"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(home),
            str(embedding_cache_dir),
            str(shared_dir),
            str(marker),
            point,
            *SMALL_BOOKS,
        ],
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600
    while not marker.exists():
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else "child exited"
        assert time.monotonic() < deadline, "child never reached the kill point"
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    settings = make_settings(home, shared_dir, embedding_cache_dir)
    r = Retriever.open(settings.retrieval_config())
    try:
        documents = r.list_documents()
        expected_docs = 1 if point == "embedding" else 2
        assert [d.document_id for d in documents] == sorted(SMALL_BOOKS[:expected_docs])
        for doc in documents:  # every stored document is whole: as many chunks as a fresh chunking gives
            row = r.catalogue.document(doc.document_id)
            assert row is not None
            assert doc.n_chunks == len(r.indexer.chunks_for(doc.document_id, _loaded(row))) > 0
        chunk_ids = [c.chunk_id for c in r.catalogue.chunks()]
        assert len(chunk_ids) == len(set(chunk_ids))
        seqs = r.catalogue.chunk_seqs()
        assert r.lexical.ids() == seqs == r.vectors.ids()  # the reopened indexes caught up, no duplicates
        assert r.search("rotation of the forearm", k=3)

        report = r.index_paths(book_paths(shared_dir))  # finishing the job adds exactly the rest
        assert (report.added, report.skipped) == (3 - expected_docs, expected_docs)
        seqs = r.catalogue.chunk_seqs()
        assert r.lexical.ids() == seqs == r.vectors.ids()
    finally:
        r.close()


def _loaded(row):  # type: ignore[no-untyped-def]
    from corpus.loaders import LoadedDocument

    return LoadedDocument(text=row.text, title=row.title, author=row.author, slug=row.slug)
