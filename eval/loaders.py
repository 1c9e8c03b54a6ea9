"""Judgement loaders: span JSONL, the Hofmann known-item set, BEIR folders and TREC qrels.

Every malformed input fails with an InputError naming the file, the line and the reason.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.errors import InputError
from eval.hofmann import HOFMANN_SLUG, mask_hofmann
from eval.judgements import EvalQuery, EvalSet, GoldId, GoldSpan, JudgementFormat
from eval.textspan import CollapsedText


def _fail(path: Path, line: int | None, reason: str) -> InputError:
    where = f"{path}:{line}" if line is not None else str(path)
    return InputError(f"{where}: {reason}")


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a clear error for anything that is not an object."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise _fail(path, None, f"not UTF-8 text ({err.reason})") from err
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            raise _fail(path, n, f"invalid JSON ({err.msg} at column {err.colno})") from err
        if not isinstance(obj, dict):
            raise _fail(path, n, f"expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every object of a JSONL file, with ``_jsonl``'s errors (file and line) for anything malformed."""
    return [obj for _, obj in _jsonl(path)]


def _str_field(path: Path, n: int, obj: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, n, f"field {key!r} must be a non-empty string")
    return value


def _grade(path: Path, n: int, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(path, n, f"{what}: grade must be a non-negative integer, got {value!r}")
    return value


def load_source(path: Path) -> str:
    """A corpus text exactly as the indexer sees it (its loader's normalisation), so offsets agree."""
    from corpus.loaders import load_file

    return load_file(path).text


class SourceTexts:
    """Corpus texts by slug, read once, with their whitespace-collapsed form for quote lookup."""

    def __init__(self, corpus_dir: Path) -> None:
        if not corpus_dir.is_dir():
            raise InputError(f"{corpus_dir}: corpus folder not found")
        self.corpus_dir = corpus_dir
        self._texts: dict[str, str] = {}
        self._collapsed: dict[str, CollapsedText] = {}

    def text(self, slug: str) -> str | None:
        if slug not in self._texts:
            path = self.corpus_dir / f"{slug}.txt"
            if not path.is_file():
                return None
            self._texts[slug] = load_source(path)
        return self._texts[slug]

    def collapsed(self, slug: str) -> CollapsedText | None:
        if slug not in self._collapsed:
            text = self.text(slug)
            if text is None:
                return None
            self._collapsed[slug] = CollapsedText.of(text)
        return self._collapsed[slug]


def load_spans(path: Path, corpus_dir: Path) -> EvalSet:
    """The project's span format: quotes located in the corpus (whitespace-collapsed exact match)."""
    texts = SourceTexts(corpus_dir)
    queries: list[EvalQuery] = []
    seen: set[str] = set()
    for n, obj in _jsonl(path):
        qid = _str_field(path, n, obj, "query_id")
        assert qid is not None
        if qid in seen:
            raise _fail(path, n, f"duplicate query_id {qid!r}")
        seen.add(qid)
        text = _str_field(path, n, obj, "query")
        relevant = obj.get("relevant")
        if not isinstance(relevant, list) or not relevant:
            raise _fail(path, n, "field 'relevant' must be a non-empty list")
        gold: list[GoldSpan] = []
        for i, rel in enumerate(relevant, start=1):
            what = f"relevant[{i}]"
            if not isinstance(rel, dict):
                raise _fail(path, n, f"{what} must be an object")
            source, quote = rel.get("source"), rel.get("quote")
            if not isinstance(source, str) or not isinstance(quote, str) or not quote.strip():
                raise _fail(path, n, f"{what} needs string fields 'source' and 'quote'")
            grade = _grade(path, n, rel.get("grade"), what)
            collapsed = texts.collapsed(source)
            if collapsed is None:
                raise _fail(path, n, f"{what}: source {source!r} is not a file in {corpus_dir}")
            span = collapsed.locate(quote)
            if span is None:
                raise _fail(path, n, f"{what}: quote not found in {source} (after collapsing whitespace)")
            gold.append(GoldSpan(source, span[0], span[1], grade))
        dim = obj.get("dimension")
        queries.append(EvalQuery(qid, text or "", dim if isinstance(dim, str) else None, tuple(gold), n))
    if not queries:
        raise _fail(path, None, "no queries")
    return EvalSet(name=path.stem, format="spans", queries=queries)


def load_hofmann(path: Path, corpus_dir: Path) -> EvalSet:
    """Hofmann's answered questions: the gold passage is the answer; the indexed book is masked."""
    book_path = corpus_dir / f"{HOFMANN_SLUG}.txt"
    if not book_path.is_file():
        raise InputError(f"{book_path}: Hofmann mode needs this book in the corpus folder")
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, obj in _jsonl(path):
        for key in ("id", "question", "answer"):
            _str_field(path, n, obj, key)
        rows.append((n, obj))
    if not rows:
        raise _fail(path, None, "no questions")
    book = load_source(book_path)
    try:
        masked = mask_hofmann(book, [(obj["question"], obj["answer"]) for _, obj in rows])
    except LookupError as err:  # which row could not be found
        index, reason = err.args
        raise _fail(path, rows[index][0], reason) from err
    queries = [
        EvalQuery(obj["id"], obj["question"], obj.get("section"), (GoldSpan(HOFMANN_SLUG, s, e, 1),), n)
        for (n, obj), (s, e) in zip(rows, masked.answer_spans, strict=True)
    ]
    return EvalSet(
        name=path.stem, format="hofmann", queries=queries, replaced_sources={HOFMANN_SLUG: masked.text}
    )


def load_beir(folder: Path, split: str = "test") -> EvalSet:
    """A BEIR folder: corpus.jsonl {_id, title, text}, queries.jsonl {_id, text}, qrels/<split>.tsv."""
    if not folder.is_dir():
        raise InputError(f"{folder}: BEIR folder not found")
    documents: dict[str, tuple[str, str]] = {}
    corpus_path = folder / "corpus.jsonl"
    for n, obj in _jsonl(corpus_path):
        doc_id = _str_field(corpus_path, n, obj, "_id")
        text = _str_field(corpus_path, n, obj, "text")
        title = obj.get("title") if isinstance(obj.get("title"), str) else ""
        assert doc_id is not None and text is not None
        documents[doc_id] = (title or doc_id, text)
    texts: dict[str, str] = {}
    queries_path = folder / "queries.jsonl"
    for n, obj in _jsonl(queries_path):
        qid, text = _str_field(queries_path, n, obj, "_id"), _str_field(queries_path, n, obj, "text")
        assert qid is not None and text is not None
        texts[qid] = text
    qrels_path = folder / "qrels" / f"{split}.tsv"
    judged = _read_qrels_tsv(qrels_path, set(documents), texts)
    queries = [EvalQuery(qid, texts[qid], None, tuple(gold), line) for qid, (line, gold) in judged.items()]
    return EvalSet(name=folder.name, format="beir", queries=queries, documents=documents, id_kind="document")


def _read_qrels_tsv(
    path: Path, doc_ids: set[str], texts: dict[str, str]
) -> dict[str, tuple[int, list[GoldId]]]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    judged: dict[str, tuple[int, list[GoldId]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if n == 1 and row[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue  # header
            if len(row) != 3:
                raise _fail(
                    path, n, f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(row)}"
                )
            qid, doc_id, score = (c.strip() for c in row)
            try:
                grade = int(score)
            except ValueError as err:
                raise _fail(path, n, f"score must be an integer, got {score!r}") from err
            if qid not in texts:
                raise _fail(path, n, f"query {qid!r} is not in queries.jsonl")
            if doc_id not in doc_ids:
                raise _fail(path, n, f"document {doc_id!r} is not in corpus.jsonl")
            if grade > 0:
                judged.setdefault(qid, (n, []))[1].append(GoldId(doc_id, grade))
    if not judged:
        raise _fail(path, None, "no positive judgements")
    return judged


def load_trec(qrels: Path, queries: Path) -> EvalSet:
    """TREC qrels `qid iter docid rel` over chunk ids of the index, with a queries file (TSV or JSONL)."""
    texts = _read_queries(queries)
    if not qrels.is_file():
        raise InputError(f"{qrels}: no such file")
    judged: dict[str, tuple[int, list[GoldId]]] = {}
    for n, raw in enumerate(qrels.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        if len(parts) != 4:
            raise _fail(qrels, n, f"expected 4 columns 'qid iter docid rel', got {len(parts)}")
        qid, _iter, doc_id, rel = parts
        try:
            grade = int(rel)
        except ValueError as err:
            raise _fail(qrels, n, f"rel must be an integer, got {rel!r}") from err
        if qid not in texts:
            raise _fail(qrels, n, f"query {qid!r} is not in {queries}")
        if grade > 0:
            judged.setdefault(qid, (n, []))[1].append(GoldId(doc_id, grade))
    if not judged:
        raise _fail(qrels, None, "no positive judgements")
    queries_out = [
        EvalQuery(qid, texts[qid], None, tuple(gold), line) for qid, (line, gold) in judged.items()
    ]
    return EvalSet(name=qrels.stem, format="trec", queries=queries_out, id_kind="chunk")


def _read_queries(path: Path) -> dict[str, str]:
    """Queries as JSONL {_id|query_id, text|query} or TSV `qid<TAB>text`."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (TREC qrels need --queries FILE)")
    texts: dict[str, str] = {}
    if path.suffix == ".jsonl":
        for n, obj in _jsonl(path):
            qid = obj.get("_id", obj.get("query_id"))
            text = obj.get("text", obj.get("query"))
            if not isinstance(qid, str) or not isinstance(text, str) or not text.strip():
                raise _fail(path, n, "needs string fields '_id' (or 'query_id') and 'text' (or 'query')")
            texts[qid] = text
    else:
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            qid, sep, text = raw.partition("\t")
            if not sep or not text.strip():
                raise _fail(path, n, "expected 'qid<TAB>query text'")
            texts[qid.strip()] = text.strip()
    return texts


def detect_format(path: Path) -> JudgementFormat:
    """Guess the format: a folder is BEIR; JSONL with 'relevant' is spans, with 'answer' Hofmann; else TREC."""
    if path.is_dir():
        return "beir"
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = next((line for line in handle if line.strip()), "")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        if "relevant" in obj:
            return "spans"
        if "answer" in obj and "question" in obj:
            return "hofmann"
    if obj is not None or path.suffix == ".jsonl":
        raise InputError(f"{path}: cannot tell the format; pass --format spans|hofmann|beir|trec")
    return "trec"


def load_judgements(
    path: Path, *, fmt: JudgementFormat | None, corpus_dir: Path, queries: Path | None = None
) -> EvalSet:
    fmt = fmt or detect_format(path)
    if fmt == "spans":
        return load_spans(path, corpus_dir)
    if fmt == "hofmann":
        return load_hofmann(path, corpus_dir)
    if fmt == "beir":
        return load_beir(path)
    if queries is None:
        raise InputError("TREC qrels need --queries FILE (TSV 'qid<TAB>text' or JSONL)")
    return load_trec(path, queries)
