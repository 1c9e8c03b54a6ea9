"""The second-stage model (all-mpnet-base-v2, assembled by .ci/setup.d/25-mpnet.sh): it loads offline by
path, ranks sensibly, and the hybrid second stage re-orders its top candidates by its cosine, embedding
at index time or lazily into the shared (model, text) cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.settings import Settings
from rag.retrieval.embedder import (
    MPNET_NAME,
    SentenceTransformerEmbedder,
    load_rescore_embedder,
    resolve_model_path,
)
from rag.retrieval.embedding_cache import text_sha
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.rescore import reorder_top
from rag.retrieval.retriever import Retriever
from tests.retrieval_support import book_paths, make_settings

QUERY = "how should a young musician practise scales"


@pytest.fixture(scope="module")
def mpnet() -> SentenceTransformerEmbedder:
    return load_rescore_embedder(Settings(rescore_model=MPNET_NAME).retrieval_config())


def test_default_hybrid_uses_mpnet_on_the_blend_top_lazily() -> None:
    s = Settings()
    assert s.rescore and s.rescore_model == MPNET_NAME and not s.rescore_model_at_index
    assert 0 < s.rescore_model_weight < 1 and s.rescore_model_candidates >= 1


def test_mpnet_resolves_under_models_dir_and_fails_clearly_when_missing(tmp_path: Path) -> None:
    assert Path(resolve_model_path(MPNET_NAME, Settings().models_dir)) == Settings().models_dir / MPNET_NAME
    with pytest.raises(RetrievalConfigError, match="25-mpnet.sh"):
        resolve_model_path(MPNET_NAME, tmp_path)


def test_mpnet_loads_offline_and_ranks_the_on_topic_passage_first(mpnet: SentenceTransformerEmbedder) -> None:
    assert mpnet.name == MPNET_NAME and mpnet.dimension == 768
    passages = [
        "The damper pedal must be changed with every new harmony, or the sound becomes blurred.",
        "Practise scales slowly, with a quiet hand and an even touch.",
        "The stock market fell sharply after the announcement.",
    ]
    vectors = mpnet.encode_documents(passages)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = vectors @ mpnet.encode_query("When should I change the pedal?")
    assert int(np.argmax(cosines)) == 0 and cosines[0] - cosines[2] > 0.2


@pytest.fixture(scope="module")
def lazy(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Retriever:
    """One small book; the second model embeds lazily (only what a query ranks into its top). Its own
    cache, so that no other test's index-time vectors hide what the queries embed."""
    settings = make_settings(
        tmp_path_factory.mktemp("mpnet-home"),
        shared_dir,
        tmp_path_factory.mktemp("mpnet-cache"),
        rescore_model=MPNET_NAME,
        rescore_model_at_index=False,
        rescore_model_candidates=8,
    )
    r = Retriever.open(settings.retrieval_config())
    r.index_paths(book_paths(shared_dir, ("schumann_advice_to_young_musicians",)))
    yield r
    r.close()


def _cached(r: Retriever, model: str, texts: list[str]) -> set[str]:
    return set(r.cache.get_many(model, [text_sha(t) for t in texts]))


def test_second_model_reorders_the_blend_top_by_its_cosine(
    lazy: Retriever, mpnet: SentenceTransformerEmbedder
) -> None:
    s = lazy.config
    plain = Retriever.open(replace(s, rescore_model=None))
    try:
        blend = plain.search(QUERY, mode="hybrid", k=40)
    finally:
        plain.close()
    hits = lazy.search(QUERY, mode="hybrid", k=40)
    n = s.rescore_model_candidates
    # the same candidates: the head re-ordered among itself, the tail untouched
    assert {h.chunk_id for h in hits[:n]} == {h.chunk_id for h in blend[:n]}
    assert [h.chunk_id for h in hits[n:]] == [h.chunk_id for h in blend[n:]]
    # recomputed from the blend's scores and mpnet vectors embedded afresh
    by_seq = {rec.chunk_id: seq for seq, rec in lazy._chunks.items()}
    query = mpnet.encode_query(QUERY)
    head = blend[:n]
    vectors = mpnet.encode_documents([lazy._chunks[by_seq[h.chunk_id]].embed_text for h in head])
    cosines = {by_seq[h.chunk_id]: float(v @ query) for h, v in zip(head, vectors, strict=False)}
    ranked = [(by_seq[h.chunk_id], h.score) for h in blend]
    expected = reorder_top(ranked, cosines, weight=s.rescore_model_weight, n=n)
    assert [by_seq[h.chunk_id] for h in hits] == [seq for seq, _ in expected]
    assert [h.score for h in hits] == pytest.approx([score for _, score in expected], abs=2e-3)
    assert [h.chunk_id for h in hits[:n]] != [h.chunk_id for h in blend[:n]]  # else the stage did nothing


def test_lazy_second_model_embeds_only_the_ranked_top(lazy: Retriever) -> None:
    texts = [rec.embed_text for rec in lazy._chunks.values()]
    before = _cached(lazy, MPNET_NAME, texts)
    hits = lazy.search("the metronome and strict time", mode="hybrid", k=5)
    after = _cached(lazy, MPNET_NAME, texts)
    n = lazy.config.rescore_model_candidates
    assert len(after) < len(texts)  # not the whole book
    assert (
        len(after - before) <= n
        and {
            text_sha(lazy._chunks[s].embed_text)
            for s in lazy._chunks
            if lazy._chunks[s].chunk_id in {h.chunk_id for h in hits}
        }
        <= after
    )


def test_search_without_the_second_model_is_the_blend_and_embeds_nothing(lazy: Retriever) -> None:
    plain = Retriever.open(replace(lazy.config, rescore_model=None))
    try:
        blend = plain.search("how to practise scales slowly", mode="hybrid", k=10)
    finally:
        plain.close()
    texts = [rec.embed_text for rec in lazy._chunks.values()]
    before = _cached(lazy, MPNET_NAME, texts)
    hits = lazy.search("how to practise scales slowly", mode="hybrid", k=10, second_model=False)
    assert [(h.chunk_id, h.score) for h in hits] == [(h.chunk_id, h.score) for h in blend]
    assert _cached(lazy, MPNET_NAME, texts) == before  # no query or chunk went through the second model


def test_index_time_embedding_covers_every_chunk(tmp_path: Path, shared_dir: Path) -> None:
    """With rescore_model_at_index every chunk's vector is cached before the first query; a fresh cache so
    that nothing came from another test."""
    settings = make_settings(
        tmp_path / "home",
        shared_dir,
        tmp_path / "cache",
        rescore_model=MPNET_NAME,
        rescore_model_at_index=True,
    )
    r = Retriever.open(settings.retrieval_config())
    try:
        text = book_paths(shared_dir, ("schumann_advice_to_young_musicians",))[0].read_text(encoding="utf-8")[
            :6000
        ]
        r.index_document(text=text, title="Advice to Young Musicians", author="Robert Schumann")
        texts = [rec.embed_text for rec in r._chunks.values()]
        assert len(texts) >= 3
        assert len(_cached(r, MPNET_NAME, texts)) == len(set(texts))
    finally:
        r.close()


def test_missing_second_model_fails_at_open(tmp_path: Path, shared_dir: Path) -> None:
    settings = make_settings(
        tmp_path / "home",
        shared_dir,
        tmp_path / "cache",
        rescore_model=MPNET_NAME,
        models_dir=tmp_path / "no-models",
    )
    with pytest.raises(RetrievalConfigError, match="25-mpnet.sh"):
        Retriever.open(settings.retrieval_config())
