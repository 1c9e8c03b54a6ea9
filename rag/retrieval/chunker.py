"""A document's chunks as the index stores them: sized for the embedder, each with the text the embedder
sees (a short 'Author, Title — Section' header first) and its tags."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from corpus.catalogue import NewChunk
from corpus.chunking import chunk_text
from corpus.loaders import SUPPORTED_SUFFIXES, LoadedDocument
from corpus.tags import tag_text
from rag.retrieval.config import RetrievalConfig
from rag.retrieval.errors import QueryError


class ChunkingEmbedder(Protocol):
    max_length: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...
    def truncate(self, text: str, max_tokens: int) -> str: ...


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:80] or "document"


def context_header(title: str, author: str | None, section: str | None) -> str:
    """'Hofmann, Piano Playing — The Use of the Pedal': who, what, where, for the embedder only."""
    surname = ""
    if author:
        first = re.split(r"\s*(?:\(|,| and | & )", author)[0].strip()
        surname = first.split()[-1] if first.split() else ""
    short_title = re.split(r"[:;(]", title)[0].strip()
    head = f"{surname}, {short_title}" if surname else short_title
    if section and section.strip().lower() != short_title.lower():
        head += f" — {section.strip().title() if section.isupper() else section.strip()}"
    return head


def max_chunk_tokens(config: RetrievalConfig, embedder: ChunkingEmbedder) -> int:
    """The chunk size: the setting, capped so chunk + header fit the model's input."""
    limit = min(embedder.max_length, 512)
    reserve = (config.header_max_tokens if config.context_header else 0) + 4  # specials + newline
    return min(config.chunk_tokens or limit - reserve, limit - reserve)


def chunk_document(
    document_id: str, doc: LoadedDocument, config: RetrievalConfig, embedder: ChunkingEmbedder
) -> list[NewChunk]:
    spans = chunk_text(
        doc.text,
        count=embedder.count_tokens,
        max_tokens=max_chunk_tokens(config, embedder),
        overlap=config.chunk_overlap,
    )
    chunks: list[NewChunk] = []
    for ordinal, span in enumerate(spans):
        embed_text = span.text
        if config.context_header:
            header = context_header(doc.title, doc.author, span.section)
            header = embedder.truncate(header, config.header_max_tokens)
            embed_text = f"{header}\n{span.text}"
        chunks.append(
            NewChunk(
                chunk_id=f"{document_id}:{ordinal:04d}",
                ordinal=ordinal,
                section=span.section,
                char_start=span.char_start,
                char_end=span.char_end,
                text=span.text,
                embed_text=embed_text,
                n_tokens=span.n_tokens,
                tags=tag_text(span.text),
            )
        )
    return chunks


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and every supported file under a folder (sorted)."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise QueryError(f"{path}: no such file or directory")
    return files
