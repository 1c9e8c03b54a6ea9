"""Fixtures shared by the generation tests."""

from __future__ import annotations

import pytest

from tests._feedback_support import open_small_retriever


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, shared_dir, embedding_cache_dir):
    """A small real index (a few books of the shared corpus), one per test module; a module that needs
    something else indexed defines its own."""
    r = open_small_retriever(tmp_path_factory.mktemp("generation-home"), shared_dir, embedding_cache_dir)
    yield r
    r.close()
