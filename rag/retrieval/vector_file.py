"""A precomputed vector file for the shared corpus, so that a first run need not embed it with a slow model.

nomic-embed-text-v1.5 embeds a 250-word-piece chunk in ~1-15 s on a 2-core CPU (idle to busy), so the ~10k
chunks of the shared corpus take hours; a first `cadenza feedback` must not. The file holds, for one model
name (the name the index records, so a Matryoshka size is part of it), the SHA-256 of every chunk's embed
text and its vector as float16 (768-d × 10k chunks ≈ 15 MB; float16 keeps cosines within ~1e-3). The Retriever
seeds its (model, text-hash) embedding cache from it when it opens, so indexing finds those chunks embedded
and only new or edited documents reach the model.

    python -m rag.retrieval.vector_file build --corpus DIR [--manifest FILE] --model nomic-embed-text-v1.5 \\
        [--dimension 768] [--models-dir DIR] [--cache FILE] --out FILE

chunks the corpus exactly as the indexer does (same chunker, header and manifest fields) and embeds through
an embedding cache (``--cache``), so a stopped build resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.retrieval.config import DEFAULT_MODELS_DIR, RetrievalConfig
from rag.retrieval.embedding_cache import EmbeddingCache, text_sha
from rag.retrieval.errors import RetrievalConfigError

FORMAT_VERSION = 1


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
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != FORMAT_VERSION:
                raise RetrievalConfigError(
                    f"{path}: vector file version {int(data['version'])}, expected {FORMAT_VERSION}"
                )
            model = str(data["model"])
            shas = [row.tobytes().hex() for row in data["shas"]]
            vectors = data["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError) as err:
        raise RetrievalConfigError(f"{path}: not a vector file ({err})") from err
    return model, shas, vectors


def seed_cache(cache: EmbeddingCache, path: Path, model: str) -> int:
    """Copy the file's vectors into ``cache`` when the file is for ``model``; returns how many it holds (0 for
    another model). Cheap when already seeded: one lookup of the first hash."""
    file_model, shas, vectors = read_vector_file(path)
    if file_model != model or not shas:
        return 0
    if not cache.get_many(model, shas[:1]):
        # float16 → float32, renormalised (the rounding moves the norm by ~1e-4)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
        cache.put_many(model, list(zip(shas, vectors, strict=True)))
    return len(shas)


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
