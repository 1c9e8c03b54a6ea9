"""Judgement loaders on the real files, Hofmann masking, BEIR/TREC, and clear errors for malformed input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.errors import InputError
from eval.hofmann import HOFMANN_SLUG
from eval.loaders import detect_format, load_beir, load_hofmann, load_source, load_spans, load_trec
from eval.textspan import CollapsedText, collapse


def test_collapsed_matching_maps_back_to_source_offsets() -> None:
    source = "Intro.\n\nThe  pedal\nshould   follow\n the note.  End"
    start, end = CollapsedText.of(source).locate("the pedal should follow the\nnote.") or (0, 0)  # noqa: RUF100
    assert CollapsedText.of(source).locate("pedal should follow") is not None
    span = CollapsedText.of(source).locate("The pedal should follow the note.")
    assert span is not None
    assert source[span[0] : span[1]] == "The  pedal\nshould   follow\n the note."
    assert CollapsedText.of(source).locate("not in there") is None


def test_dev_quotes_are_located_exactly(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus" / "texts"
    evalset = load_spans(shared_dir / "eval" / "piano_qrels_dev.jsonl", corpus)
    assert len(evalset.queries) == 36
    raw = [
        json.loads(line) for line in (shared_dir / "eval" / "piano_qrels_dev.jsonl").read_text().splitlines()
    ]
    for query, row in zip(evalset.queries, raw, strict=True):
        assert query.query_id == row["query_id"]
        for gold, rel in zip(query.gold, row["relevant"], strict=True):
            text = load_source(corpus / f"{gold.source}.txt")
            assert collapse(text[gold.start : gold.end]) == collapse(rel["quote"])
            assert gold.grade == rel["grade"]


def test_hofmann_masks_questions_and_sidenotes_but_keeps_answers_and_offsets(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus" / "texts"
    evalset = load_hofmann(shared_dir / "eval" / "hofmann_piano_questions_answered.jsonl", corpus)
    original = load_source(corpus / f"{HOFMANN_SLUG}.txt")
    masked = evalset.replaced_sources[HOFMANN_SLUG]
    assert len(masked) == len(original)
    assert [i for i, c in enumerate(original) if c == "\n"] == [i for i, c in enumerate(masked) if c == "\n"]
    assert len(evalset.queries) == 244
    assert "[Sidenote:" in original and "[Sidenote:" not in masked
    collapsed_masked = collapse(masked)
    rows = [
        json.loads(line)
        for line in (shared_dir / "eval" / "hofmann_piano_questions_answered.jsonl").read_text().splitlines()
    ]
    for query, row in zip(evalset.queries, rows, strict=True):
        (gold,) = query.gold
        assert collapse(masked[gold.start : gold.end]) == collapse(row["answer"])  # answer kept, same place
        assert query.text == row["question"]
    # the questions are gone (a few short ones might recur inside answers, so check the long ones)
    long_questions = [r["question"] for r in rows if len(r["question"]) > 80]
    assert long_questions and not any(collapse(q) in collapsed_masked for q in long_questions)
    # the side notes are blanked where they stood (the book's index still lists their titles: a distractor)
    for m in re.finditer(r"\[Sidenote:.*?\]", original, re.DOTALL):
        assert not masked[m.start() : m.end()].strip()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {
    "query_id": "q1",
    "query": "pedal",
    "dimension": "pedal_clarity",
    "relevant": [{"source": "saint_saens_execution_of_music", "quote": "the pedal", "grade": 2}],
}


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({**GOOD, "query_id": "q2", "relevant": []}), "'relevant' must be a non-empty list"),
        (json.dumps({**GOOD, "query_id": "q2", "query": ""}), "'query' must be a non-empty string"),
        (
            json.dumps(
                {
                    **GOOD,
                    "query_id": "q2",
                    "relevant": [
                        {"source": "saint_saens_execution_of_music", "quote": "the pedal", "grade": "2"}
                    ],
                }
            ),
            "grade must be a non-negative integer",
        ),
        (
            json.dumps(
                {**GOOD, "query_id": "q2", "relevant": [{"source": "no_such_book", "quote": "x", "grade": 1}]}
            ),
            "source 'no_such_book' is not a file",
        ),
        (
            json.dumps(
                {
                    **GOOD,
                    "query_id": "q2",
                    "relevant": [
                        {
                            "source": "saint_saens_execution_of_music",
                            "quote": "a sentence Saint-Saens never wrote",
                            "grade": 1,
                        }
                    ],
                }
            ),
            "quote not found in saint_saens_execution_of_music",
        ),
        (json.dumps(GOOD), "duplicate query_id 'q1'"),
    ],
)
def test_malformed_span_lines_name_line_and_reason(
    tmp_path: Path, shared_dir: Path, bad_line: str, reason: str
) -> None:
    path = _write(tmp_path / "q.jsonl", [json.dumps(GOOD), "", bad_line])
    with pytest.raises(InputError) as err:
        load_spans(path, shared_dir / "corpus" / "texts")
    assert f"{path}:3:" in err.value.message
    assert reason in err.value.message


def test_malformed_hofmann_line(tmp_path: Path, shared_dir: Path) -> None:
    row = {"id": "h1", "question": "Is this question in the book at all?", "answer": "No."}
    path = _write(tmp_path / "h.jsonl", [json.dumps(row)])
    with pytest.raises(InputError, match=r"h\.jsonl:1: question not found"):
        load_hofmann(path, shared_dir / "corpus" / "texts")
    path = _write(tmp_path / "h2.jsonl", [json.dumps({"id": "h1", "question": "q"})])
    with pytest.raises(InputError, match=r"h2\.jsonl:1: field 'answer' must be a non-empty string"):
        load_hofmann(path, shared_dir / "corpus" / "texts")


def _beir(folder: Path, qrels: list[str]) -> Path:
    (folder / "qrels").mkdir(parents=True)
    _write(
        folder / "corpus.jsonl",
        [
            json.dumps({"_id": "d1", "title": "Pedal", "text": "Pedal after the note."}),
            json.dumps({"_id": "d2", "title": "", "text": "Scales every day."}),
        ],
    )
    _write(
        folder / "queries.jsonl",
        [
            json.dumps({"_id": "q1", "text": "when to pedal"}),
            json.dumps({"_id": "q2", "text": "daily practice"}),
        ],
    )
    _write(folder / "qrels" / "test.tsv", ["query-id\tcorpus-id\tscore", *qrels])
    return folder


def test_beir_folder(tmp_path: Path) -> None:
    evalset = load_beir(_beir(tmp_path / "beir", ["q1\td1\t2", "q2\td2\t1", "q2\td1\t0"]))
    assert detect_format(tmp_path / "beir") == "beir"
    assert evalset.documents["d1"] == ("Pedal", "Pedal after the note.")
    assert evalset.documents["d2"][0] == "d2"  # empty title falls back to the id
    by_id = {q.query_id: q for q in evalset.queries}
    assert [(g.item_id, g.grade) for g in by_id["q1"].gold] == [("d1", 2)]
    assert [(g.item_id, g.grade) for g in by_id["q2"].gold] == [("d2", 1)]  # grade 0 is not relevant


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("q1\td1", "expected 3 tab-separated columns"),
        ("q1\td1\thigh", "score must be an integer"),
        ("q9\td1\t1", "query 'q9' is not in queries.jsonl"),
        ("q1\td9\t1", "document 'd9' is not in corpus.jsonl"),
    ],
)
def test_beir_errors_name_the_line(tmp_path: Path, row: str, reason: str) -> None:
    folder = _beir(tmp_path / "beir", ["q1\td1\t1", row])
    with pytest.raises(InputError) as err:
        load_beir(folder)
    assert f"test.tsv:3: {reason}" in err.value.message


def test_trec_qrels_with_queries(tmp_path: Path) -> None:
    queries = _write(tmp_path / "topics.tsv", ["1\twhen to pedal", "2\tdaily practice"])
    qrels = _write(tmp_path / "qrels.txt", ["1 0 book:0001 2", "1 0 book:0007 0", "2 0 other:0003 1"])
    evalset = load_trec(qrels, queries)
    assert evalset.id_kind == "chunk" and detect_format(qrels) == "trec"
    assert [[(g.item_id, g.grade) for g in q.gold] for q in evalset.queries] == [
        [("book:0001", 2)],
        [("other:0003", 1)],
    ]
    bad = _write(tmp_path / "bad.txt", ["1 0 book:0001 2", "1 book:0002 1"])
    with pytest.raises(InputError, match=r"bad\.txt:2: expected 4 columns"):
        load_trec(bad, queries)
