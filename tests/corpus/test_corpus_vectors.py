"""The committed MiniLM vectors of the shared corpus (corpus/vectors/): the default vector file, still
covering the chunks today's chunker makes, and agreeing with fresh MiniLM vectors; a first run's index
takes its chunks from it and leaves the sentence vectors to the searches and the service's background fill."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from api.settings import Settings
from corpus.vectors import MINILM_CORPUS_VECTORS
from rag.retrieval.embedder import load_embedder
from rag.retrieval.embedding_cache import text_sha
from rag.retrieval.indexing import SENTENCES_DEFERRED
from rag.retrieval.retriever import Retriever
from rag.retrieval.vector_file import PrecomputedVectors, corpus_embed_texts

# three books' worth of chunks: a sample that chunks in seconds
BOOKS = ("hofmann_", "gehrkens_", "schumann_")


def _sample_corpus(settings: Settings, folder: Path, books: tuple[str, ...] = BOOKS) -> Path:
    folder.mkdir(parents=True)
    for path in sorted(settings.corpus_dir.glob("*.txt")):
        if any(name in path.name.lower() for name in books):
            (folder / path.name).symlink_to(path)
    assert len(list(folder.iterdir())) == len(books)
    return folder


def test_default_vector_file_covers_todays_chunks_and_matches_fresh_vectors(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.vector_file == MINILM_CORPUS_VECTORS and MINILM_CORPUS_VECTORS.is_file()
    assert MINILM_CORPUS_VECTORS.stat().st_size < 20e6
    config = settings.retrieval_config()
    source = PrecomputedVectors(MINILM_CORPUS_VECTORS)
    assert source.model == load_embedder(config).name
    books = _sample_corpus(settings, tmp_path / "books")
    texts = corpus_embed_texts(config, books, settings.corpus_manifest)
    given = source.vectors_for(source.model, [text_sha(t) for t in texts])
    # a change to the chunker, the header or the corpus makes the file stale: regenerate it (corpus/vectors)
    assert len(given) / len(texts) >= 0.99, f"{len(given)} of {len(texts)} chunks in the vector file"
    sample = [texts[i] for i in np.random.default_rng(7).choice(len(texts), 16, replace=False)]
    fresh = load_embedder(config).encode_documents(sample)
    stored = np.stack([given[text_sha(t)] for t in sample])
    assert float(np.sum(fresh * stored, axis=1).min()) > 0.999


def test_first_run_index_embeds_no_chunk_and_defers_sentences(settings: Settings, tmp_path: Path) -> None:
    config = replace(settings.retrieval_config(), embedding_cache_dir=tmp_path / "cache")
    retriever = Retriever(config)
    db = sqlite3.connect(config.embedding_cache_dir / "embeddings.sqlite")

    def stored() -> int:
        return int(db.execute("SELECT count(*) FROM embeddings").fetchone()[0])

    try:
        book = _sample_corpus(settings, tmp_path / "a", ("schumann_",))
        retriever.index_paths([book], manifest=settings.corpus_manifest, sentence_vectors=False)
        n_chunks = retriever.n_chunks
        indexed = stored()
        # every chunk vector came from the file (stored as used) and no sentence was embedded
        assert 0 < indexed <= n_chunks
        assert retriever.search("practise slowly and keep strict time", mode="hybrid", k=3)
        searched = stored()
        # the search embedded the sentences of the chunks it ranked (the second stage)
        assert searched > indexed
        # the service fills the rest in the background, once
        assert retriever.fill_sentence_vectors() == n_chunks
        assert stored() > searched
        assert retriever.fill_sentence_vectors() == 0
        # a stopped fill leaves the marker, so the next start goes on
        other = _sample_corpus(settings, tmp_path / "b", ("gehrkens_",))
        retriever.index_paths([other], manifest=settings.corpus_manifest, sentence_vectors=False)
        stop = threading.Event()
        stop.set()
        assert retriever.fill_sentence_vectors(stop=stop) == 0
        assert (config.index_dir / SENTENCES_DEFERRED).exists()
    finally:
        db.close()
        retriever.close()
