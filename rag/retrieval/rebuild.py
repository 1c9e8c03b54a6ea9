"""Rebuild every derived index from the catalogue, e.g. after changing the embedding model."""

from __future__ import annotations

import shutil

from api.settings import Settings
from corpus.catalogue import CATALOGUE_STATE, Catalogue
from rag.retrieval.types import IndexReport


def rebuild_all(settings: Settings, *, progress: bool = False) -> IndexReport:
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.retriever import Retriever

    embedder = load_embedder(settings)
    catalogue = Catalogue(settings.resolved_database_url)
    try:
        # Forget which model the chunks were sized for (they are re-chunked below) and drop the
        # local derived indexes, which may hold vectors of another dimension.
        catalogue.set_state(CATALOGUE_STATE, generation=catalogue.generation(), model_name=embedder.name, dimension=embedder.dimension)
    finally:
        catalogue.close()
    shutil.rmtree(settings.home / "index", ignore_errors=True)
    if settings.vector_backend == "qdrant" and not settings.qdrant_url:
        shutil.rmtree(settings.qdrant_path or settings.home / "qdrant", ignore_errors=True)
    retriever = Retriever(settings, embedder=embedder)
    try:
        return retriever.rebuild(progress=progress)
    finally:
        retriever.close()
