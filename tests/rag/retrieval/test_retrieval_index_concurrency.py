"""Searches do not wait for a document's embedding (issue 21, item 7): a document write embeds its chunks
before it takes any lock a search needs, and the embedder lets a query in between two batches."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from api.settings import Settings
from rag.retrieval.config import MINILM_PACKAGE
from rag.retrieval.embedder import SentenceTransformerEmbedder
from rag.retrieval.retriever import Retriever

BATCH = 8
BATCH_SECONDS = 0.25  # a slow machine: each document batch takes this long on top of the real work


class _SlowModel:
    """The real model, slowed down per document batch; queries (one text) are not slowed."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.slow = False
        self.started = threading.Event()
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        if self.slow and len(texts) > 1:
            self.started.set()
            pause = BATCH_SECONDS * -(-len(texts) // kwargs.get("batch_size", BATCH))
            time.sleep(pause)
            self.seconds += pause
        return self._model.encode(texts, **kwargs)


def _text(n_paragraphs: int) -> str:
    nonce = uuid.uuid4().hex  # fresh text: nothing comes from the embedding cache
    return "\n\n".join(
        f"Paragraph {i} ({nonce}). Practise the passage slowly with a quiet hand, listening to every tone; "
        f"the pedal should change with the harmony, never before it, so that the bass stays clear."
        for i in range(n_paragraphs)
    )


def test_a_search_does_not_wait_for_a_document_being_embedded(
    tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        shared_dir=shared_dir,
        embedding_cache_dir=embedding_cache_dir,
        rescore_model=None,
        embedding_batch_size=BATCH,
    )
    embedder = SentenceTransformerEmbedder(MINILM_PACKAGE, batch_size=BATCH)
    slow = _SlowModel(embedder._model)
    embedder._model = slow  # type: ignore[assignment]
    retriever = Retriever(settings.retrieval_config(), embedder=embedder)
    try:
        retriever.index_document(text=_text(4), title="Warm-up", slug="warm_up")
        slow.slow = True
        errors: list[BaseException] = []

        def index() -> None:
            try:
                # 80 paragraphs: ~15 slowed batches (the count varies with how the nonce splits into word
                # pieces; 60 gave 11-12, at the edge of the 3-s floor below)
                retriever.index_document(text=_text(80), title="Long Document", slug="long_document")
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        writer = threading.Thread(target=index)
        writer.start()
        assert slow.started.wait(30)
        time.sleep(BATCH_SECONDS / 2)  # inside the document's embedding
        latencies = []
        for query in (
            "how should the pedal change",
            "a quiet hand in slow practice",
            "keeping the bass clear",
        ):
            t = time.perf_counter()
            assert retriever.search(query, k=3)
            latencies.append(time.perf_counter() - t)
        still_embedding = writer.is_alive()
        writer.join()
        assert not errors, errors[0]
        assert slow.seconds >= 3.0, f"the stand-in embedding took only {slow.seconds:.1f} s"
        assert max(latencies) < 1.0, (
            f"searches waited for the embedding: {[round(x, 2) for x in latencies]} s"
        )
        assert still_embedding, "the document finished before the searches: the test proves nothing"
    finally:
        retriever.close()


def test_counting_tokens_beside_a_batch_being_embedded_does_not_break_the_batch() -> None:
    """The soak's 500 (document indexing, "expected sequence of length 18 at dim 1 (got 17)"): the fast
    tokenizer keeps its padding and truncation settings in shared state, so a chunker counting tokens (no
    padding) while another thread embeds a padded batch left the batch's rows of unequal length. Counting
    and truncating now hold the model's lock like an encode does."""
    embedder = SentenceTransformerEmbedder(MINILM_PACKAGE, batch_size=BATCH)
    rng = np.random.default_rng(0)
    words = "practise the passage slowly with a quiet hand listening to every tone and pedal".split()
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(3, 40, size=64)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def count() -> None:  # a chunker at work: counting and cutting, a little else between calls
        try:
            while not stop.is_set():
                embedder.count_tokens(texts[:4])
                embedder.truncate(texts[0], 5)
                time.sleep(0.001)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        for _ in range(30):
            vectors = embedder.encode_documents(texts)
            assert vectors.shape == (len(texts), embedder.dimension)
    finally:
        stop.set()
        counter.join()
    assert not errors, errors[0]
