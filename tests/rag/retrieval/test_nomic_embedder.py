"""nomic-embed-text-v1.5 through llama.cpp (rag/retrieval/llama_embedder.py), the real Q8_0 model that
.ci/setup.d/26-nomic.sh assembles: fixed pairs rank as a teacher would, the task prefixes reach the model,
Matryoshka truncation keeps unit vectors, and the settings select it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.settings import Settings
from rag.retrieval.embedder import load_embedder
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.llama_embedder import (
    DOCUMENT_PREFIX,
    NOMIC_NAME,
    QUERY_PREFIX,
    LlamaEmbedder,
    matryoshka,
)

pytestmark = pytest.mark.needs_setup

PEDAL_Q = "How do I keep the sustain pedal from blurring the harmonies?"
BALANCE_Q = "The melody is drowned by the accompaniment in my left hand."
PEDAL_DOC = (
    "Change the pedal exactly as each new harmony is struck: lift it with the new chord and press it again "
    "just after, or the tones of the old harmony mingle with the new one and the sound becomes blurred."
)
BALANCE_DOC = (
    "The melody must sing above the accompaniment: play the upper voice with more weight and keep the "
    "left-hand accompaniment soft, so that it supports the tune without covering it."
)


@pytest.fixture(scope="module")
def nomic() -> LlamaEmbedder:
    embedder = load_embedder(
        replace(Settings().retrieval_config(), embedding_model=NOMIC_NAME, embedding_threads=1)
    )
    assert isinstance(embedder, LlamaEmbedder)
    return embedder


def test_fixed_pairs_rank_the_matching_passage_first(nomic: LlamaEmbedder) -> None:
    docs = nomic.encode_documents([PEDAL_DOC, BALANCE_DOC])
    assert docs.shape == (2, 768)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    pedal, balance = nomic.encode_query(PEDAL_Q), nomic.encode_query(BALANCE_Q)
    assert docs[0] @ pedal > docs[1] @ pedal
    assert docs[1] @ balance > docs[0] @ balance


def test_prefixes_are_applied_to_queries_and_documents(nomic: LlamaEmbedder) -> None:
    def raw(text: str) -> np.ndarray:
        return matryoshka(nomic._embed_one(text)[None, :], 768)[0]

    query, doc = nomic.encode_query(PEDAL_Q), nomic.encode_documents([PEDAL_DOC])[0]
    assert np.allclose(query, raw(QUERY_PREFIX + PEDAL_Q), atol=1e-4)
    assert np.allclose(doc, raw(DOCUMENT_PREFIX + PEDAL_DOC), atol=1e-4)
    assert not np.allclose(query, raw(PEDAL_Q), atol=1e-3)  # the prefix changes the vector
    assert not np.allclose(doc, raw(PEDAL_DOC), atol=1e-3)


def test_matryoshka_dimension_is_recorded_and_ranks_the_same(nomic: LlamaEmbedder) -> None:
    small = LlamaEmbedder(NOMIC_NAME, models_dir=Settings().models_dir, dimension=256, threads=1)
    assert small.name == f"{NOMIC_NAME}-d256" and small.dimension == 256  # never mixed with 768-d vectors
    docs = small.encode_documents([PEDAL_DOC, BALANCE_DOC])
    assert docs.shape == (2, 256) and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert docs[0] @ small.encode_query(PEDAL_Q) > docs[1] @ small.encode_query(PEDAL_Q)


def test_tokens_and_truncation(nomic: LlamaEmbedder) -> None:
    assert nomic.count_tokens(["pedal", "the pedal"]) == [1, 2]
    assert nomic.truncate("one two three four five", 2) == "one two"
    assert nomic.truncate("short", 10) == "short"


def test_missing_model_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(RetrievalConfigError, match="26-nomic.sh"):
        LlamaEmbedder(NOMIC_NAME, models_dir=tmp_path)
