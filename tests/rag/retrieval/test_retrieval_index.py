"""The Retriever on a real slice of the corpus with the real MiniLM: search modes and offsets,
dedup / replace / delete across every index, catch-up between processes, filters, errors."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.settings import Settings
from corpus.chunking import sentence_spans
from corpus.errors import DocumentNotFound
from rag.retrieval.embedding_cache import text_sha
from rag.retrieval.errors import IndexMismatch, QueryError
from rag.retrieval.fusion import rrf
from rag.retrieval.retriever import Retriever
from rag.retrieval.vectorstore import FaissStore
from tests.retrieval_support import book_paths, make_settings

QUERY = "my pedalling blurs the harmonies"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrieval-home")


@pytest.fixture(scope="module")
def module_settings(home: Path, shared_dir: Path, embedding_cache_dir: Path) -> Settings:
    return make_settings(home, shared_dir, embedding_cache_dir)


@pytest.fixture(scope="module")
def retriever(module_settings: Settings, shared_dir: Path) -> Retriever:
    r = Retriever.open(module_settings.retrieval_config())
    report = r.index_paths(book_paths(shared_dir), manifest=shared_dir / "corpus" / "MANIFEST.tsv")
    assert report.added == 3 and report.chunks_added > 100
    yield r
    r.close()


def _source_text(r: Retriever, document_id: str) -> str:
    row = r.catalogue.document(document_id)
    assert row is not None
    return row.text


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_modes_return_exact_passages(retriever: Retriever, mode: str) -> None:
    hits = retriever.search(QUERY, mode=mode, k=5)
    assert len(hits) == 5 and [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    for hit in hits:
        assert _source_text(retriever, hit.source.document_id)[hit.char_start : hit.char_end] == hit.text
        assert hit.source.title and hit.source.url
    assert len({h.chunk_id for h in hits}) == 5


def test_hybrid_without_rescoring_is_rrf_of_the_two_lists(
    retriever: Retriever, module_settings: Settings
) -> None:
    plain = Retriever.open(module_settings.model_copy(update={"rescore": False}).retrieval_config())
    try:
        n = plain.config.candidates_per_retriever
        bm25 = [h.chunk_id for h in plain.search(QUERY, mode="bm25", k=n)]
        dense = [h.chunk_id for h in plain.search(QUERY, mode="dense", k=n)]
        expected: dict[str, float] = {}
        for ranking in (bm25, dense):
            for rank, chunk_id in enumerate(ranking, start=1):
                expected[chunk_id] = expected.get(chunk_id, 0.0) + 1.0 / (60 + rank)
        hybrid = plain.search(QUERY, mode="hybrid", k=10)
    finally:
        plain.close()
    for hit in hybrid:
        assert hit.score == pytest.approx(expected[hit.chunk_id])
    best = sorted(expected.values(), reverse=True)[:10]
    assert [h.score for h in hybrid] == pytest.approx(best)


def test_hybrid_rescores_fused_candidates_by_blended_scores(retriever: Retriever) -> None:
    """Default hybrid = RRF candidates re-ordered by w_b * BM25/top BM25 + w_s * min-max best-sentence cosine
    + rest * min-max chunk cosine, recomputed here from the single retrievers' own scores over the whole
    index and from the candidates' sentences embedded afresh."""
    s = retriever.config
    n, w_b, w_s = s.candidates_per_retriever, s.rescore_weight_bm25, s.rescore_weight_sentence
    assert w_b > 0 and w_s > 0
    everything = retriever.n_chunks
    bm25 = {h.chunk_id: h.score for h in retriever.search(QUERY, mode="bm25", k=everything)}
    dense_hits = retriever.search(QUERY, mode="dense", k=everything)
    cosine = {h.chunk_id: h.score for h in dense_hits}
    texts = {h.chunk_id: h.text for h in dense_hits}
    candidates = sorted(set(list(bm25)[:n]) | set(list(cosine)[:n]))
    query = retriever.embedder.encode_query(QUERY)
    best_sentence = {}
    for c in candidates:
        spans = sentence_spans(texts[c], count=retriever.embedder.count_tokens, max_tokens=200)
        vectors = retriever.embedder.encode_documents([texts[c][a:b] for a, b in spans])
        best_sentence[c] = float((vectors @ query).max())

    def scaled(values: dict[str, float]) -> dict[str, float]:
        lo, hi = min(values[c] for c in candidates), max(values[c] for c in candidates)
        return {c: (values[c] - lo) / (hi - lo) for c in candidates}

    cos, sent, top = scaled(cosine), scaled(best_sentence), max(bm25.values())
    expected = {
        c: w_b * bm25.get(c, 0.0) / top + w_s * sent[c] + (1 - w_b - w_s) * cos[c] for c in candidates
    }
    # The blend alone (without the second model's re-ordering of its top: tests/test_retrieval_second_model.py).
    blend_only = Retriever.open(replace(s, rescore_model=None))
    try:
        hybrid, timings = blend_only.search_timed(
            QUERY, mode="hybrid", k=n, filters=None
        )  # k = n: same candidates
    finally:
        blend_only.close()
    assert "rescore" in timings and len(hybrid) == n
    for hit in hybrid:
        assert hit.score == pytest.approx(expected[hit.chunk_id], abs=2e-3)
    assert [h.score for h in hybrid] == pytest.approx(sorted(expected.values(), reverse=True)[:n], abs=2e-3)
    # The blend re-orders: it is not the RRF order (else this stage would be a no-op).
    rrf_order = [c for c, _ in rrf([list(bm25)[:n], list(cosine)[:n]], k=s.rrf_k)]
    assert [h.chunk_id for h in hybrid] != rrf_order[:n]


def test_indexing_embeds_chunk_sentences_for_the_second_stage(retriever: Retriever) -> None:
    """The second stage reads sentence vectors from the cache: indexing must have put them there."""
    hit = retriever.search(QUERY, mode="bm25", k=1)[0]
    spans = sentence_spans(hit.text, count=retriever.embedder.count_tokens, max_tokens=200)
    shas = [text_sha(hit.text[a:b]) for a, b in spans]
    assert len(spans) > 1
    assert set(retriever.cache.get_many(retriever.embedder.name, shas)) == set(shas)


def test_pedal_query_finds_pedal_advice(retriever: Retriever) -> None:
    hits = retriever.search("how should I use the soft pedal una corda", mode="hybrid", k=3)
    assert any("pedal" in h.text.lower() for h in hits)


def test_timed_search_reports_each_stage(retriever: Retriever) -> None:
    hits, timings = retriever.search_timed(QUERY, mode="hybrid", k=3, filters=None)
    assert len(hits) == 3
    assert {"encode", "bm25", "dense", "fusion", "total"} <= set(timings)
    assert timings["total"] >= timings["bm25"] >= 0


def test_filters(retriever: Retriever) -> None:
    for hit in retriever.search("rotation of the forearm", k=5, filters={"author": "matthay"}):
        assert hit.source.document_id == "matthay_forearm_rotation"
    for hit in retriever.search("music", k=5, filters={"source": "saint_saens_execution_of_music"}):
        assert hit.source.document_id == "saint_saens_execution_of_music"
    pedal_hits = retriever.search("playing", k=5, filters={"technique": "pedalling"})
    assert pedal_hits and all(
        "pedalling" in retriever.chunk_tags(h.chunk_id)["techniques"] for h in pedal_hits
    )
    bach = retriever.search("fugue", mode="dense", k=3, filters={"composer": "bach"})
    assert bach and all("bach" in retriever.chunk_tags(h.chunk_id)["composers"] for h in bach)
    assert retriever.search("music", k=3, filters={"source_type": "pdf"}) == []
    with pytest.raises(QueryError):
        retriever.search("music", filters={"colour": "blue"})


def test_empty_query_and_bad_arguments(retriever: Retriever) -> None:
    for query in ("", "   "):
        with pytest.raises(QueryError, match="empty"):
            retriever.search(query)
    with pytest.raises(QueryError):
        retriever.search(QUERY, mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="cross-encoder"):
        retriever.search(QUERY, mode="rerank")  # no reranker configured on the embedded default


def test_empty_index_is_a_clear_error(settings: Settings, embedding_cache_dir: Path) -> None:
    r = Retriever.open(
        settings.model_copy(update={"embedding_cache_dir": embedding_cache_dir}).retrieval_config()
    )
    try:
        with pytest.raises(QueryError, match="index is empty"):
            r.search(QUERY)
    finally:
        r.close()


def _all_ids(r: Retriever) -> tuple[set[int], set[int], set[int]]:
    return r.catalogue.chunk_seqs(), r.lexical.ids(), r.vectors.ids()


def test_dedup_replace_delete_across_all_indexes(retriever: Retriever, shared_dir: Path) -> None:
    before = _all_ids(retriever)
    assert before[0] == before[1] == before[2]
    # same text again (also under another title): nothing added
    again = retriever.index_paths(book_paths(shared_dir, ("schumann_advice_to_young_musicians",)))
    assert (again.added, again.skipped, again.chunks_added) == (0, 1, 0)
    assert _all_ids(retriever) == before

    text = (
        "Practise the pedal slowly.\n\nChange the damper pedal exactly as the harmony changes, never before.\n\n"
        * 3
    )
    doc_id, report = retriever.index_document(
        text=text, title="Pedal Notes", author="A. Teacher", slug="pedal_notes"
    )
    assert (doc_id, report.added) == ("pedal_notes", 1)
    old_chunks = {
        h.chunk_id
        for h in retriever.search("damper pedal harmony", mode="bm25", k=50)
        if h.source.document_id == doc_id
    }
    old_seqs = _all_ids(retriever)[0] - before[0]
    assert old_chunks and old_seqs

    _, same = retriever.index_document(
        text=text + "  \n", title="Pedal Notes", slug="pedal_notes"
    )  # whitespace only
    assert same.skipped == 1

    changed = (
        "Keep the wrist loose and sing the melody over a quiet accompaniment with marcato thumbs.\n\n" * 2
    )
    _, replaced = retriever.index_document(
        text=changed, title="Pedal Notes", author="A. Teacher", slug="pedal_notes"
    )
    assert replaced.replaced == 1 and replaced.chunks_removed == len(old_seqs)
    catalogue, lexical, vectors = _all_ids(retriever)
    assert catalogue == lexical == vectors
    assert not (old_seqs & catalogue)  # every old chunk left every index
    hits = retriever.search("marcato thumbs melody", mode="bm25", k=3)
    assert hits[0].source.document_id == "pedal_notes"
    assert "marcato" in hits[0].text

    retriever.remove_document("pedal_notes")
    assert _all_ids(retriever) == (before[0], before[0], before[0])
    assert all(h.source.document_id != "pedal_notes" for h in retriever.search("marcato thumbs melody", k=20))
    assert "pedal_notes" not in {d.document_id for d in retriever.list_documents()}
    with pytest.raises(DocumentNotFound):
        retriever.remove_document("pedal_notes")


def test_second_process_catches_up_and_mismatched_index_is_refused(
    retriever: Retriever, module_settings: Settings
) -> None:
    other = Retriever.open(module_settings.retrieval_config())  # another replica on the same catalogue
    try:
        doc_id, _ = retriever.index_document(
            text="The metronome is a stern master: practise the trill with it daily until it is even.\n\n"
            * 2,
            title="Trill Notes",
            slug="trill_notes",
        )
        hits = other.search("stern master trill metronome", mode="bm25", k=1)
        assert hits and hits[0].source.document_id == doc_id
        retriever.remove_document(doc_id)
        assert all(h.source.document_id != doc_id for h in other.search("stern master trill", k=10))
    finally:
        other.close()
    with pytest.raises(IndexMismatch, match="768"):
        FaissStore(
            module_settings.home / "index" / "faiss", model_name=retriever.embedder.name, dimension=768
        )
    with pytest.raises(IndexMismatch, match="bge"):
        FaissStore(
            module_settings.home / "index" / "faiss", model_name="BAAI/bge-base-en-v1.5", dimension=384
        )


def test_indexes_are_rebuildable_from_the_catalogue(retriever: Retriever, module_settings: Settings) -> None:
    import shutil

    expected = [h.chunk_id for h in retriever.search(QUERY, k=5)]
    copy = module_settings.home.parent / "rebuilt-home"
    shutil.copytree(module_settings.home, copy, ignore=shutil.ignore_patterns("index"))
    rebuilt = Retriever.open(module_settings.model_copy(update={"home": copy}).retrieval_config())
    try:
        assert rebuilt.lexical.ids() == rebuilt.vectors.ids() == rebuilt.catalogue.chunk_seqs()
        assert [h.chunk_id for h in rebuilt.search(QUERY, k=5)] == expected
    finally:
        rebuilt.close()


def test_searches_run_while_a_document_is_indexed(retriever: Retriever) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            try:
                hits = retriever.search("legato touch", k=5)
                # a hit always resolves to a complete, consistent chunk
                assert all(h.chunk_id.startswith(h.source.document_id + ":") for h in hits)
            except BaseException as err:  # noqa: BLE001 - collected for the assertion below
                errors.append(err)
                return

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        doc_id, _ = retriever.index_document(
            text="Legato touch binds the tones.\n\n" * 20, title="Legato Notes", slug="legato_notes"
        )
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    retriever.remove_document(doc_id)


def test_small_allowed_sets_are_scored_exactly_like_a_filtered_search(tmp_path: Path) -> None:
    """A few allowed ids are scored by reading their vectors back; the answer must be the one the filtered
    FAISS scan gives (same ids, same order, same scores), also for ids no longer stored. IVF takes the scan."""
    import rag.retrieval.vectorstore as vs

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = FaissStore(tmp_path / "faiss", model_name="toy", dimension=32)
    store.add(list(range(1000, 1500)), vectors)
    store.delete([1003])
    query = vectors[7] + 0.1 * vectors[9]
    allowed = {1003, 1007, 1009, 1100, 1499, 1250, 99999}
    direct = store.search(query, 4, allowed)
    previous, vs.DIRECT_SCORE_MAX = vs.DIRECT_SCORE_MAX, 0  # force the selector scan
    try:
        scanned = store.search(query, 4, allowed)
    finally:
        vs.DIRECT_SCORE_MAX = previous
    assert [i for i, _ in direct] == [i for i, _ in scanned] and direct[0][0] == 1007
    assert [s for _, s in direct] == pytest.approx([s for _, s in scanned], abs=1e-5)
    assert 1003 not in {i for i, _ in direct}
    ivf = FaissStore(tmp_path / "ivf", model_name="toy", dimension=32, ivf_lists=4)
    assert not ivf._direct


def test_caught_up_once_checks_the_catalogue_once_per_block(retriever: Retriever) -> None:
    """Inside the block, searches skip the generation SELECT; outside, every search checks again."""
    calls = []
    original = retriever.catalogue.generation

    def counting() -> int:
        calls.append(1)
        return original()

    retriever.catalogue.generation = counting  # type: ignore[method-assign]
    try:
        with retriever.caught_up_once():
            for query in ("legato", "pedal", "scales"):
                assert retriever.search(query, mode="bm25", k=2)
        assert len(calls) == 1
        retriever.search("legato", mode="bm25", k=2)
        assert len(calls) == 2
    finally:
        retriever.catalogue.generation = original  # type: ignore[method-assign]
