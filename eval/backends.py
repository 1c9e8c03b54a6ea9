"""Search backends the runner evaluates: Cadenza's Retriever (temporary or live index) and the naive baseline."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from api.errors import InputError
from api.settings import Settings
from eval.credit import RankedItem
from eval.judgements import EvalSet
from eval.loaders import load_source


class SearchBackend(Protocol):
    modes: tuple[str, ...]

    def search(self, query: str, mode: str, depth: int) -> tuple[list[RankedItem], dict[str, float]]: ...

    def close(self) -> None: ...


def corpus_sources(corpus_dir: Path, evalset: EvalSet) -> dict[str, str]:
    """slug -> text of every .txt in the folder, with the eval set's replacements (the masked Hofmann book)."""
    paths = sorted(corpus_dir.glob("*.txt"))
    if not paths:
        raise InputError(f"{corpus_dir}: no .txt files to index")
    sources = {p.stem: load_source(p) for p in paths}
    sources.update(evalset.replaced_sources)
    return sources


def find_manifest(corpus_dir: Path) -> Path | None:
    for candidate in (corpus_dir / "MANIFEST.tsv", corpus_dir.parent / "MANIFEST.tsv"):
        if candidate.is_file():
            return candidate
    return None


class CadenzaBackend:
    """Cadenza's Retriever. With a corpus folder (or BEIR documents) it indexes a temporary copy under a
    temporary home and removes it on close; otherwise it searches the live index of `settings.home`."""

    modes = ("bm25", "dense", "hybrid", "rerank")

    def __init__(
        self, settings: Settings, evalset: EvalSet, *, corpus_dir: Path | None, progress: bool
    ) -> None:
        from rag.retrieval.retriever import Retriever

        self._tmp: Path | None = None
        if corpus_dir is not None or evalset.documents:
            self._tmp = Path(tempfile.mkdtemp(prefix="rag-eval-"))
            # The embedding cache stays where the real settings keep it, so a temporary index never
            # re-embeds a text some earlier run (or the live index) already embedded.
            # The second-stage model embeds lazily here: an evaluation ranks only a few thousand of the
            # corpus's chunks into its top, and the order is the same whenever the vectors are computed.
            settings = settings.model_copy(
                update={
                    "home": self._tmp / "home",
                    "embedding_cache_dir": settings.resolved_embedding_cache_dir,
                    "rescore_model_at_index": False,
                }
            )
        self.settings = settings
        self._retriever = Retriever.open(settings.retrieval_config())
        try:
            if evalset.documents:
                for slug, (title, text) in evalset.documents.items():
                    self._retriever.index_document(text=text, title=title, slug=slug)
            elif corpus_dir is not None:
                self._index_folder(corpus_dir, evalset, progress)
            self._slugs = {d.document_id: (d.slug or d.document_id) for d in self._retriever.list_documents()}
        except BaseException:
            self.close()
            raise
        if not self._slugs:
            self.close()
            raise InputError(f"the index under {settings.home} is empty: index a corpus or pass --corpus DIR")

    def _index_folder(self, corpus_dir: Path, evalset: EvalSet, progress: bool) -> None:
        """Index each text under its file stem as slug (what span judgements name), manifest metadata if any."""
        from tqdm import tqdm

        from corpus.manifest import read_manifest

        manifest = find_manifest(corpus_dir)
        entries = read_manifest(manifest) if manifest else {}
        sources = corpus_sources(corpus_dir, evalset)
        # Any order gives the same index content; reverse order lets a second evaluation started beside a
        # running one fill the shared embedding cache from the other end instead of embedding the same texts.
        for slug in tqdm(
            sorted(sources, reverse=True), disable=not progress, unit="doc", desc="rag-eval: indexing"
        ):
            entry = entries.get(slug)
            self._retriever.index_document(
                text=sources[slug],
                title=entry.title if entry else slug.replace("_", " "),
                slug=slug,
                author=entry.author if entry else None,
                year=entry.year if entry else None,
                url=entry.url if entry else None,
                licence=entry.licence if entry else None,
            )

    def search(self, query: str, mode: str, depth: int) -> tuple[list[RankedItem], dict[str, float]]:
        hits, timings = self._retriever.search_timed(query, mode=mode, k=depth, filters=None)  # type: ignore[arg-type]
        if mode == "rerank":
            # The reranked top N, then the rest of the fused list, so every system ranks to `depth`.
            seen = {h.chunk_id for h in hits}
            fused = self._retriever.search(query, mode="hybrid", k=depth)
            hits = hits + [h for h in fused if h.chunk_id not in seen][: depth - len(hits)]
        items = [
            RankedItem(
                h.chunk_id,
                self._slugs.get(h.source.document_id, h.source.document_id),
                h.char_start,
                h.char_end,
                h.text,
            )
            for h in hits
        ]
        return items, dict(timings)

    def close(self) -> None:
        retriever = getattr(self, "_retriever", None)
        if retriever is not None:
            retriever.close()
            self._retriever = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
