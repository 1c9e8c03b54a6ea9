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


class SearchBackend(Protocol):
    modes: tuple[str, ...]

    def search(self, query: str, mode: str, depth: int) -> tuple[list[RankedItem], dict[str, float]]: ...

    def close(self) -> None: ...


def corpus_sources(corpus_dir: Path, evalset: EvalSet) -> dict[str, str]:
    """slug -> text of every .txt in the folder, with the eval set's replacements (the masked Hofmann book)."""
    paths = sorted(corpus_dir.glob("*.txt"))
    if not paths:
        raise InputError(f"{corpus_dir}: no .txt files to index")
    sources = {p.stem: p.read_text(encoding="utf-8") for p in paths}
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

    def __init__(self, settings: Settings, evalset: EvalSet, *, corpus_dir: Path | None, progress: bool) -> None:
        from rag.retriever import Retriever

        self._tmp: Path | None = None
        if corpus_dir is not None or evalset.documents:
            self._tmp = Path(tempfile.mkdtemp(prefix="rag-eval-"))
            settings = settings.model_copy(update={"home": self._tmp / "home"})
        self.settings = settings
        self._retriever = Retriever.open(settings)
        try:
            if evalset.documents:
                for slug, (title, text) in evalset.documents.items():
                    self._retriever.index_document(text=text, title=title, slug=slug)
            elif corpus_dir is not None:
                folder = self._tmp / "corpus"  # type: ignore[operator]
                folder.mkdir()
                for slug, text in corpus_sources(corpus_dir, evalset).items():
                    (folder / f"{slug}.txt").write_text(text, encoding="utf-8")
                self._retriever.index_paths(
                    sorted(folder.glob("*.txt")), manifest=find_manifest(corpus_dir), progress=progress
                )
            self._slugs = {d.document_id: (d.slug or d.document_id) for d in self._retriever.list_documents()}
        except BaseException:
            self.close()
            raise
        if not self._slugs:
            self.close()
            raise InputError(f"the index under {settings.home} is empty: index a corpus or pass --corpus DIR")

    def search(self, query: str, mode: str, depth: int) -> tuple[list[RankedItem], dict[str, float]]:
        hits, timings = self._retriever.search_timed(query, mode=mode, k=depth, filters=None)  # type: ignore[arg-type]
        items = [
            RankedItem(h.chunk_id, self._slugs.get(h.source.document_id, h.source.document_id), h.char_start, h.char_end, h.text)
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
