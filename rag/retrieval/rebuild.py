"""Rebuild every derived index from the catalogue, e.g. after changing the embedding model."""

from __future__ import annotations

import shutil
from collections.abc import Callable

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


def configured_model_name(config: RetrievalConfig) -> str:
    """The name an index built with these settings records, without loading the model (the embedders'
    own naming: a nomic variant with its Matryoshka size, a local path by its folder name)."""
    from pathlib import Path

    from rag.retrieval.llama_embedder import NOMIC_FULL_DIMENSION, is_nomic

    name = config.embedding_model
    if is_nomic(name):
        dimension = config.embedding_dimension or NOMIC_FULL_DIMENSION
        return name if dimension == NOMIC_FULL_DIMENSION else f"{name}-d{dimension}"
    return Path(name).name if Path(name).exists() else name


def indexed_model_name(config: RetrievalConfig) -> str | None:
    """The embedding model the catalogue was chunked for (None: nothing indexed yet)."""
    catalogue = Catalogue(config.database_url)
    try:
        state = catalogue.state(CATALOGUE_STATE)
    finally:
        catalogue.close()
    return state.model_name if state is not None and state.model_name else None


def rebuild_if_model_changed(
    config: RetrievalConfig, *, progress: bool = False, notice: Callable[[str], None] | None = None
) -> IndexReport | None:
    """For the commands that may take minutes anyway (`cadenza feedback`, `cadenza serve`): an index built
    with another embedding model is rebuilt here, after a one-line notice, instead of refused. `cadenza search`
    and the API still refuse it with IndexMismatch (a search should not start a rebuild of minutes)."""
    indexed, wanted = indexed_model_name(config), configured_model_name(config)
    if indexed is None or indexed == wanted:
        return None
    if notice is not None:
        notice(
            f"The index at {config.home} was built with {indexed}; the settings ask for {wanted}: rebuilding it "
            "once (`cadenza index --rebuild` does the same)."
        )
    return rebuild_all(config, progress=progress)
