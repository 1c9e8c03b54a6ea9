"""Rebuild every derived index from the catalogue, e.g. after changing the embedding model."""

from __future__ import annotations

import shutil

from corpus.catalogue import CATALOGUE_STATE, Catalogue
from rag.retrieval.config import RetrievalConfig
from rag.retrieval.types import IndexReport


def rebuild_all(config: RetrievalConfig, *, progress: bool = False) -> IndexReport:
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.retriever import Retriever

    embedder = load_embedder(config)
    catalogue = Catalogue(config.database_url)
    try:
        # Forget which model the chunks were sized for (they are re-chunked below) and drop the
        # local derived indexes, which may hold vectors of another dimension.
        catalogue.set_state(
            CATALOGUE_STATE,
            generation=catalogue.generation(),
            model_name=embedder.name,
            dimension=embedder.dimension,
        )
    finally:
        catalogue.close()
    shutil.rmtree(config.index_dir, ignore_errors=True)
    if config.vector_backend == "qdrant" and config.qdrant_path is not None:
        shutil.rmtree(config.qdrant_path, ignore_errors=True)
    retriever = Retriever(config, embedder=embedder)
    try:
        return retriever.rebuild(progress=progress)
    finally:
        retriever.close()
