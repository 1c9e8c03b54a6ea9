"""The three BM25 backends on a five-passage corpus written in the test: OR semantics, ranking, the
allowed-set filter, deletion, idempotent adds and persistence of the token lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.retrieval.bm25 import Bm25sIndex, Fts5Index, RankBm25Index, make_lexical_index, tokenize

PASSAGES = {
    10: "Change the damper pedal with every new harmony, or the sound blurs.",
    11: "Practise scales slowly with a quiet hand and an even touch.",
    12: "The pedal is the soul of the piano, said Rubinstein.",
    13: "Count aloud while practising the difficult rhythm of the left hand.",
    14: "A singing tone comes from the weight of the arm, not from striking.",
}
BACKENDS = [Bm25sIndex, RankBm25Index, Fts5Index]


Backend = type[Bm25sIndex] | type[RankBm25Index] | type[Fts5Index]


def build(cls: Backend) -> Bm25sIndex | RankBm25Index | Fts5Index:
    index = cls()
    index.add(list(PASSAGES), list(PASSAGES.values()))
    return index


def test_tokenize_lowercases_drops_stop_words_and_stems() -> None:
    assert tokenize("The Pedals are Changing!") == ["pedal", "chang"]
    assert tokenize("a an the of") == []
    assert tokenize("Don’t practise") == tokenize("Don't practise")


@pytest.mark.parametrize("cls", BACKENDS)
def test_only_passages_with_a_query_term_score(cls: Backend) -> None:
    hits = build(cls).search("pedal", k=10)
    assert {seq for seq, _ in hits} == {10, 12}
    assert all(score > 0 for _, score in hits)


@pytest.mark.parametrize("cls", BACKENDS)
def test_terms_are_or_ed_and_more_matches_rank_higher(cls: Backend) -> None:
    hits = build(cls).search("hand practise scales", k=10)
    assert {seq for seq, _ in hits} == {11, 13}
    assert hits[0][0] == 11  # three matching terms beat two
    assert hits[0][1] > hits[1][1]


@pytest.mark.parametrize("cls", BACKENDS)
def test_k_and_unknown_words(cls: Backend) -> None:
    index = build(cls)
    assert len(index.search("pedal hand", k=1)) == 1
    assert index.search("xylophone", k=5) == []
    assert index.search("the and of", k=5) == []


@pytest.mark.parametrize("cls", BACKENDS)
def test_allowed_set_filters_and_delete_removes(cls: Backend) -> None:
    index = build(cls)
    assert [seq for seq, _ in index.search("pedal", k=10, allowed={12, 13})] == [12]
    assert index.search("pedal", k=10, allowed=set()) == []
    index.delete([12])
    assert [seq for seq, _ in index.search("pedal", k=10)] == [10]
    assert index.ids() == {10, 11, 13, 14}


@pytest.mark.parametrize("cls", [Bm25sIndex, RankBm25Index])
def test_adding_a_seq_twice_adds_nothing(cls: Backend) -> None:
    index = build(cls)
    index.add([10], ["pedal pedal pedal pedal"])
    assert index.ids() == set(PASSAGES)
    assert [seq for seq, _ in index.search("harmony", k=5)] == [10]


@pytest.mark.parametrize("backend", ["bm25s", "rank_bm25", "fts5"])
def test_saved_index_reopens_with_its_generation_and_ranking(backend: str, tmp_path: Path) -> None:
    index = make_lexical_index(backend, tmp_path / "lexical")
    index.add(list(PASSAGES), list(PASSAGES.values()))
    index.save(7)
    before = index.search("singing tone arm", k=3)
    reopened = make_lexical_index(backend, tmp_path / "lexical")
    assert reopened.generation == 7
    assert reopened.ids() == set(PASSAGES)
    assert [seq for seq, _ in reopened.search("singing tone arm", k=3)] == [seq for seq, _ in before] == [14]


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown BM25 backend 'whoosh'"):
        make_lexical_index("whoosh", None)
