"""Loaders: turn a file (txt, md, html, pdf) or uploaded bytes into one `LoadedDocument`.

The loaded ``text`` is the source text every chunk's ``char_start:char_end`` points into, so
loaders normalise only what they must (line endings, Gutenberg boilerplate, HTML markup)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pydantic import BaseModel

from corpus.errors import DocumentError, UnsupportedDocument

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")

_CONTENT_TYPES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
}

# Project Gutenberg wraps its texts between these markers (several historical spellings).
_PG_START = re.compile(r"^\*\*\*\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*?\*\*\*.*$", re.I | re.M)
_PG_END = re.compile(r"^\*\*\*\s*END OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
_PG_END_OLD = re.compile(r"^End of (?:the )?Project Gutenberg'?s? .*$", re.I | re.M)


class LoadedDocument(BaseModel):
    text: str
    title: str
    filename: str | None = None
    source_type: str = "book"
    slug: str | None = None
    author: str | None = None
    year: str | None = None
    url: str | None = None
    licence: str | None = None


def strip_gutenberg(text: str) -> str:
    """Drop a Project Gutenberg licence header/footer when the markers are present."""
    start = _PG_START.search(text)
    if start:
        text = text[start.end() :]
    end = _PG_END.search(text) or _PG_END_OLD.search(text)
    if end:
        text = text[: end.start()]
    return text.strip("\n")


def _normalise_newlines(text: str) -> str:
    # NUL carries no text (a stray byte, or UTF-16 read as bytes) and a Postgres text column refuses it
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").lstrip("\ufeff")


def _decode(data: bytes, filename: str) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(f"{filename}: not valid UTF-8 or Windows-1252 text")


def _html_to_text(html: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "head"]):
        title_tag = tag.find("title") if tag.name == "head" else None
        if title_tag is not None:
            soup.append(title_tag)  # keep <title> for the document title
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    blocks: list[str] = []
    # Headings become Markdown headings so that one heading detector serves every format.
    for element in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "td"]):
        if element.find_parent(["p", "li", "blockquote", "pre", "td"]) is not None:
            continue
        content = " ".join(element.get_text(" ", strip=True).split())
        if not content:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            blocks.append("#" * int(element.name[1]) + " " + content)
        else:
            blocks.append(content)
    if not blocks:  # markup without block elements: fall back to the whole text
        blocks = [" ".join(soup.get_text(" ", strip=True).split())]
    return "\n\n".join(b for b in blocks if b), title


def _pdf_to_text(data: bytes, filename: str) -> tuple[str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise DocumentError(f"{filename}: unreadable PDF ({err})") from err
    # A page break is a paragraph break; the text inside pages keeps pypdf's line breaks.
    return "\n\n".join(p.strip() for p in pages if p.strip()), title


def _title_from(text: str, filename: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line.lower().startswith(("produced by", "transcriber", "e-text prepared", "[illustration")):
            continue  # Gutenberg producer credits come before the real title
        if 3 <= len(line) <= 120:
            return line
    return Path(filename).stem.replace("_", " ")


def load_bytes(data: bytes, *, filename: str, content_type: str | None = None) -> LoadedDocument:
    """Load uploaded bytes; the format comes from the file name, else from the content type."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES and content_type:
        suffix = _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower(), suffix)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            f"{filename}: unsupported document type (use one of {', '.join(SUPPORTED_SUFFIXES)})"
        )
    title: str | None = None
    if suffix == ".pdf":
        text, title = _pdf_to_text(data, filename)
        source_type = "pdf"
    elif suffix in (".html", ".htm"):
        text, title = _html_to_text(_decode(data, filename))
        source_type = "web"
    else:
        text = strip_gutenberg(_normalise_newlines(_decode(data, filename)))
        source_type = "book" if suffix == ".txt" else "article"
    text = _normalise_newlines(text)
    if not text.strip():
        raise DocumentError(f"{filename}: no text found")
    return LoadedDocument(
        text=text,
        title=(title or "").replace("\x00", "").strip() or _title_from(text, filename),
        filename=Path(filename).name,
        source_type=source_type,
        slug=None,
    )


def load_file(path: Path) -> LoadedDocument:
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"{path}: no such file")
    return load_bytes(path.read_bytes(), filename=path.name)
