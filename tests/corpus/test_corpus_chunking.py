"""Loaders, structure and chunking on the real corpus with the real MiniLM tokenizer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from corpus.chunking import chunk_text
from corpus.errors import DocumentError
from corpus.loaders import load_bytes, load_file, strip_gutenberg
from corpus.manifest import read_manifest
from corpus.structure import split_blocks
from corpus.tags import dimensions_covered, tag_text
from rag.retrieval.chunker import context_header
from rag.retrieval.embedder import SentenceTransformerEmbedder
from scorer.dimensions import NAMES
from tests.retrieval_support import SMALL_BOOKS, book_paths


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    from api.settings import Settings
    from rag.retrieval.embedder import load_embedder

    return load_embedder(Settings().retrieval_config())


def test_gutenberg_boilerplate_is_stripped() -> None:
    raw = "Title page junk\n*** START OF THE PROJECT GUTENBERG EBOOK PIANO ***\n\nReal text.\n\n*** END OF THE PROJECT GUTENBERG EBOOK PIANO ***\nLicence"
    assert strip_gutenberg(raw) == "\nReal text.\n".strip("\n")
    assert load_bytes(raw.encode(), filename="x.txt").text == "Real text."


def test_markdown_html_and_pdf_load(tmp_path: Path) -> None:
    md = load_bytes(b"# Pedal\n\nChange the pedal with the harmony.\n", filename="n.md")
    assert md.title == "Pedal" and "harmony" in md.text
    html = load_bytes(
        b"<html><head><title>Touch</title><script>x()</script></head><body><h2>Legato</h2><p>Bind the notes.</p></body></html>",
        filename="t.html",
    )
    assert html.title == "Touch" and "## Legato" in html.text and "x()" not in html.text
    pdf = load_bytes(_tiny_pdf("Slow practice builds a steady rhythm."), filename="p.pdf")
    assert "steady rhythm" in pdf.text
    with pytest.raises(DocumentError):
        load_bytes(b"\x00\x01", filename="a.docx")
    with pytest.raises(DocumentError):
        load_bytes(b"%PDF-1.4 broken", filename="b.pdf")
    with pytest.raises(DocumentError):
        load_file(tmp_path / "missing.txt")


def _tiny_pdf(sentence: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (no PDF writer dependency)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({sentence}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_manifest_gives_metadata_for_every_shared_book(shared_dir: Path) -> None:
    entries = read_manifest(shared_dir / "corpus" / "MANIFEST.tsv")
    texts = {p.stem for p in (shared_dir / "corpus" / "texts").glob("*.txt")}
    assert texts <= set(entries)
    hofmann = entries["hofmann_piano_playing_questions_answered"]
    assert hofmann.author == "Josef Hofmann" and hofmann.url and hofmann.url.startswith("https://")


def test_headings_are_detected_in_real_books(shared_dir: Path) -> None:
    hofmann = (shared_dir / "corpus" / "texts" / "hofmann_piano_playing_questions_answered.txt").read_text()
    headings = [b.heading for b in split_blocks(hofmann) if b.heading]
    assert "THE USE OF THE PEDAL" in headings and "GENERAL RULES" in headings
    # table-of-contents lines ("GENERAL RULES     19") are not headings
    assert not any(h and h.rstrip()[-1].isdigit() for h in headings)
    matthay = (shared_dir / "corpus" / "texts" / "matthay_forearm_rotation.txt").read_text()
    assert "Step VI. Rhythmical Exercise" in [b.heading for b in split_blocks(matthay)]


@pytest.mark.parametrize("slug", SMALL_BOOKS + ("hofmann_piano_playing_questions_answered",))
def test_chunks_fit_the_model_and_point_exactly_into_the_source(
    slug: str, shared_dir: Path, embedder
) -> None:
    doc = load_file(book_paths(shared_dir, (slug,))[0])
    max_tokens = 212
    chunks = chunk_text(doc.text, count=embedder.count_tokens, max_tokens=max_tokens, overlap=0.15)
    assert len(chunks) > 10
    min_tokens = max_tokens // 4
    blocks = split_blocks(doc.text)
    heading_starts = {b.start for b in blocks if b.heading}
    for n, chunk in enumerate(chunks):
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text  # exact offsets
        header = context_header(doc.title, "Some Author", chunk.section)
        with_header = embedder.count_tokens([f"{header}\n{chunk.text}"])[0] + 2  # [CLS] [SEP]
        assert with_header <= embedder.max_length, (n, with_header)
        assert embedder.count_tokens([chunk.text])[0] <= max_tokens
        # no cut words: chunks begin and end at whitespace boundaries
        assert chunk.char_start == 0 or doc.text[chunk.char_start - 1].isspace()
        assert chunk.char_end == len(doc.text) or doc.text[chunk.char_end].isspace()
        # no fragments: a short chunk is a whole short section (the next chunk starts a new section)
        if chunk.n_tokens < min_tokens and n + 1 < len(chunks):
            assert chunks[n + 1].char_start in heading_starts, (n, chunk.text[:80])
    # ~15% overlap between neighbours inside a section
    overlaps = [
        a.char_end - b.char_start
        for a, b in zip(chunks, chunks[1:], strict=False)
        if b.char_start < a.char_end
    ]
    assert len(overlaps) >= len(chunks) // 3
    ratio = sum(overlaps) / sum(len(c.text) for c in chunks)
    assert 0.03 < ratio < 0.3


def test_tags_cover_all_dimensions_and_find_techniques() -> None:
    assert dimensions_covered() == set(NAMES)
    tags = tag_text(
        "In Chopin's nocturnes the damper pedal must be changed with every harmony; keep a singing legato."
    )
    assert "chopin" in tags["composers"] and "nocturne" in tags["pieces"]
    assert {"pedalling", "legato"} <= set(tags["techniques"])
    assert "pedal_clarity" in tags["dimensions"]
    assert tag_text("The weather was fine.")["techniques"] == []
