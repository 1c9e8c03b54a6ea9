"""A precomputed vector file for the shared corpus, so that a first run need not embed it.

Embedding the ~10k chunks of the shared corpus takes MiniLM ~9 minutes on a 2-core CPU and nomic-embed-text
hours; a first `cadenza feedback` must not wait for either. The file holds, for one model name (the name the
index records, so a Matryoshka size is part of it), the SHA-256 of every chunk's embed text and its vector as
float16 (384-d × 10k chunks ≈ 7.4 MB, 768-d ≈ 15 MB; float16 keeps cosines within ~1e-3). The Retriever
adds it to its (model, text-hash) embedding cache as a read-only source, so indexing finds those chunks
embedded and only new or edited documents reach the model. The MiniLM file of the shared corpus ships in
``corpus/vectors/`` (the default ``vector_file``).

    python -m rag.retrieval.vector_file build --corpus DIR [--manifest FILE] --model nomic-embed-text-v1.5 \\
        [--dimension 768] [--models-dir DIR] [--cache FILE] --out FILE

chunks the corpus exactly as the indexer does (same chunker, header and manifest fields) and embeds through
an embedding cache (``--cache``), so a stopped build resumes where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.retrieval.config import DEFAULT_MODELS_DIR, RetrievalConfig
from rag.retrieval.embedding_cache import EmbeddingCache, text_sha
from rag.retrieval.errors import RetrievalConfigError

FORMAT_VERSION = 1
# what numpy raises for a file that is not a whole .npz of the right members
_UNREADABLE = (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile)
log = logging.getLogger(__name__)


def write_vector_file(path: Path, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
    if len(texts) != len(vectors):
        raise ValueError("one vector per text")
    shas = np.frombuffer(b"".join(bytes.fromhex(text_sha(t)) for t in texts), dtype=np.uint8).reshape(-1, 32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # np.savez_compressed would add ".npz" to a name without it
        np.savez_compressed(
            handle,
            version=np.array(FORMAT_VERSION),
            model=np.array(model),
            shas=shas,
            vectors=np.asarray(vectors, dtype=np.float16),
        )


def read_vector_file(path: Path) -> tuple[str, list[str], np.ndarray]:
    """(model name, text SHA-256 hex digests, float32 vectors)."""
    model = _file_model(path)
    shas, vectors = _rows(path)
    return model, shas, vectors.astype(np.float32)


class PrecomputedVectors:
    """A vector file as a read-only source of the embedding cache (``EmbeddingCache.add_source``): a text the
    cache lacks is looked up here by its SHA before it is embedded. The model name is read at open (a file
    that is not a vector file fails there); the vectors on the first lookup, once per process and file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.model = _file_model(path)
        self._failed = False

    def vectors_for(self, model: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        """The file's vectors of these texts (for another model, none). A file gone or broken since it was
        opened gives none either, said once: it only spares embedding, so embedding goes on without it."""
        if model != self.model or self._failed:
            return {}
        try:
            rows, vectors = _table(self.path, _stamp(self.path))
        except (OSError, RetrievalConfigError) as err:
            self._failed = True
            log.warning("precomputed vectors no longer read: %s", err)
            return {}
        return {sha: _unit(vectors[rows[sha]]) for sha in shas if sha in rows}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _file_model(path: Path) -> str:
    try:
        with np.load(path, allow_pickle=False) as data:  # lazy: reads only the members asked for
            version, model = int(data["version"]), str(data["model"])
    except _UNREADABLE as err:
        raise RetrievalConfigError(f"{path}: not a vector file ({err})") from err
    if version != FORMAT_VERSION:
        raise RetrievalConfigError(f"{path}: vector file version {version}, expected {FORMAT_VERSION}")
    return model


def _rows(path: Path) -> tuple[list[str], np.ndarray]:
    """Text SHA-256 hex digests and the float16 vectors, in file order."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return [row.tobytes().hex() for row in data["shas"]], data["vectors"]
    except _UNREADABLE as err:
        raise RetrievalConfigError(f"{path}: not a vector file ({err})") from err


@lru_cache(maxsize=4)
def _table(path: Path, stamp: tuple[int, int]) -> tuple[dict[str, int], np.ndarray]:
    """SHA -> row, and the float16 rows (``stamp`` reloads a file rewritten in place)."""
    del stamp
    shas, vectors = _rows(path)
    return {sha: i for i, sha in enumerate(shas)}, vectors


def _unit(row: np.ndarray) -> np.ndarray:
    """float16 → float32, renormalised (the rounding moves the norm by ~1e-4)."""
    v = row.astype(np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def corpus_embed_texts(config: RetrievalConfig, corpus: Path, manifest: Path | None) -> list[str]:
    """The embed text of every chunk the indexer would make of ``corpus`` with ``config``."""
    from corpus.manifest import read_manifest
    from rag.retrieval.chunker import chunk_document, expand_paths, slugify
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.indexing import load_for_index

    embedder = load_embedder(config)
    entries = read_manifest(manifest) if manifest else {}
    texts: list[str] = []
    for path in expand_paths([corpus]):
        doc = load_for_index(path, entries)
        texts += [c.embed_text for c in chunk_document(slugify(doc.slug or doc.title), doc, config, embedder)]
    return list(dict.fromkeys(texts))


def build(config: RetrievalConfig, corpus: Path, manifest: Path | None, out: Path, cache_path: Path) -> int:
    from tqdm import tqdm

    from rag.retrieval.embedder import load_embedder

    embedder = load_embedder(config)
    texts = corpus_embed_texts(config, corpus, manifest)
    cache = EmbeddingCache(cache_path)
    try:
        bar = tqdm(total=len(texts), unit="chunk", desc="embedding", dynamic_ncols=True)
        vectors = cache.embed(embedder.name, texts, embedder.encode_documents, batch=16, progress=bar.update)
        bar.close()
    finally:
        cache.close()
    write_vector_file(out, embedder.name, texts, vectors)
    return len(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.retrieval.vector_file")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="Embed a corpus into a vector file.")
    b.add_argument("--corpus", type=Path, required=True)
    b.add_argument("--manifest", type=Path)
    b.add_argument("--model", default="nomic-embed-text-v1.5")
    b.add_argument("--dimension", type=int)
    b.add_argument("--chunk-tokens", type=int)
    b.add_argument("--threads", type=int)
    b.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR.expanduser())
    b.add_argument(
        "--cache", type=Path, default=Path("~/.cache/cadenza/vector-file-cache.sqlite").expanduser()
    )
    b.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = RetrievalConfig(
        home=args.out.parent,
        database_url="sqlite://",
        embedding_cache_dir=args.cache.parent,
        models_dir=args.models_dir,
        embedding_model=args.model,
        embedding_dimension=args.dimension,
        embedding_threads=args.threads,
        chunk_tokens=args.chunk_tokens,
    )
    n = build(config, args.corpus, args.manifest, args.out, args.cache)
    sys.stderr.write(f"{args.out}: {n} chunk vectors, {args.out.stat().st_size / 1e6:.1f} MB\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
