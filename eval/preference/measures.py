"""Copying, citation coverage and grounding of the preference-test answers (eval/preference/generate.py
output), per side: the issue-18 measures on the same 34 items the reviewer compares.

Only the LLM's answers are measured (a fallback answer is Cadenza's quote, not the model's words). The
model's own sentences are the answer less what Cadenza writes itself:
- ``structured`` (main: one JSON answer that Cadenza renders): the problem heads ("Balance between the hands
  at 0:50–0:56 (bars 21–23): …", rebuilt from the report with rag.generation.evidence/structured) and the
  "Strength: " / "To refine: " labels, and since the citation gate the book's words Cadenza quotes after a
  step ('Josef Hofmann writes: "…" [1].', counted as ``book_quotes``); the strength, each step and the
  refinement are the model's;
- ``per_dimension`` (fa153c5): eval.feedback_copying.model_sentences (its "Strength:" line and
  "X is weak, especially at …:" heads are Cadenza's).
Sentences of at least 8 words, markers removed (the rule of eval.feedback_copying).

Measures:
- copying, cited run: the longest token run a sentence shares with a passage it cites (every cited passage
  of the answer when it cites none) over its length, ≥ 0.8 = copied (eval.feedback_measures.copied_share);
- copying, corpus shingles: ≥ 80 % of the sentence's 8-word shingles occur anywhere in the corpus
  (eval.feedback_copying, the measure behind the committed 84 of 87);
- citation coverage: the model's advice sentences (eval.feedback_eval.advice_sentences; the strength line
  left out, it is praise) that carry a marker, pooled over answers (and the same on the whole rendered text,
  Cadenza's heads included);
- grounding: the production MiniLM score stored with each answer (``grounding_rate``), and the stricter
  check (rag.generation.grounding StrictCheck on its cheap signals, no LLM judge: what ``ground_strict`` runs
  by default) on every (model sentence, cited passage) pair, the passage being the cited chunk's text, with
  why each unsupported pair failed (garbled, under the content-overlap gate, under the cosine threshold);
  with ``--judge-gguf``, the LLM judge on a seeded sample of the pairs that pass the cheap gates.

    python -m eval.preference.measures --items eval/feedback_profiles.jsonl \\
        --items eval/preference/render_items.jsonl --side new=eval/preference/new.jsonl:structured \\
        --side old=eval/preference/old.jsonl:per_dimension --home $CADENZA_HOME --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.feedback_copying import _HEAD, _STRENGTH, COPIED, N, corpus_shingles
from eval.feedback_copying import copied_share as shingle_copied
from eval.feedback_eval import advice_sentences
from eval.feedback_measures import copied_share as run_copied
from rag.generation.citations import parse_markers, split_sentences, strip_markers

_WORD = re.compile(r"[a-z0-9]+")
_STRENGTH_LINE = re.compile(r"^Strength: .*$", re.MULTILINE)
_LABEL = re.compile(r"^(Strength|To refine): ", re.MULTILINE)


def _numbers(sentence: str) -> list[int]:
    """The source numbers a sentence's markers cite."""
    return sorted({n for m in parse_markers(sentence) for n in m.numbers})


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def structured_heads(item: dict) -> list[str]:
    """Cadenza's what-and-where heads for this item's report, as main renders them."""
    from rag.generation.evidence import build_evidence
    from rag.generation.structured import problem_head
    from scorer.schema import ScoreReport

    report = ScoreReport.model_validate(item["report"])
    evidence = build_evidence(
        report, piece=item.get("piece"), composer=item.get("composer"), level=item.get("level")
    )
    return [problem_head(p) for p in evidence.problems]


def own_text(text: str, item: dict, strategy: str, citations: Sequence[dict] = ()) -> str:
    """The answer less Cadenza's own words (markers kept, so coverage can read them); ``citations`` (the
    answer's) name the authors of Cadenza's quotes."""
    if strategy == "per_dimension":
        return "\n".join(per_dimension_sentences_raw(text))
    for head in structured_heads(item):
        text = text.replace(head, "")
    return _LABEL.sub("", quotes(citations).sub("", text))


def quotes(citations: Sequence[dict]) -> re.Pattern[str]:
    """Cadenza's quote sentences of an answer, by the authors of its citations."""
    from rag.generation.structured import quote_pattern, quoted_author

    names = [c.get("author") or c.get("title") or "" for c in citations]
    return quote_pattern(
        names + [quoted_author(a) for a in names]
    )  # runs before quoted_author used the full name


def per_dimension_sentences_raw(text: str) -> list[str]:  # _HEAD, _STRENGTH: its own lines
    """fa153c5's model sentences with their markers (eval.feedback_copying strips them)."""
    return [s for s in split_sentences(_HEAD.sub("", _STRENGTH.sub("", text))) if s.strip()]


def model_sentences(own: str) -> list[str]:
    """Sentences of at least N words, markers kept."""
    return [s for s in split_sentences(own) if len(_WORD.findall(strip_markers(s).lower())) >= N]


def chunk_texts(db: Path, chunk_ids: Sequence[str]) -> dict[str, str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for cid in set(chunk_ids):
            row = con.execute("select text from chunks where chunk_id = ?", (cid,)).fetchone()
            if row:
                out[cid] = row[0]
        return out
    finally:
        con.close()


def measure(
    answers: list[dict],
    items: dict[str, dict],
    strategy: str,
    db: Path,
    corpus: set[int],
    judge: Any = None,
    judge_sample: int = 0,
) -> dict[str, Any]:
    from rag.generation.grounding import StrictCheck, signals

    llm = [a for a in answers if a.get("generator") == "llm"]
    texts = chunk_texts(db, [c["chunk_id"] for a in llm for c in a.get("citations", [])])
    rows = []
    pairs: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []  # each row's pairs
    for a in llm:
        by_n = {int(c["n"]): texts.get(c["chunk_id"], "") for c in a.get("citations", [])}
        cites = a.get("citations", [])
        own = own_text(a["text"], items[a["id"]], strategy, cites)
        sentences = model_sentences(own)
        run_shares, shingle_copies = [], 0
        first = len(pairs)
        for s in sentences:
            cited = [by_n[n] for n in _numbers(s) if n in by_n] or list(by_n.values())
            run_shares.append(round(run_copied(strip_markers(s), cited), 3))
            copied, _ = shingle_copied(strip_markers(s), corpus)
            shingle_copies += copied
            pairs += [(s, by_n[n]) for n in _numbers(s) if by_n.get(n)]
        # the strength is praise, not advice: its line is left out of both coverage figures
        spans.append((first, len(pairs)))
        advice_own = advice_sentences(
            own_text(_STRENGTH_LINE.sub("", a["text"]), items[a["id"]], strategy, cites)
        )
        advice_all = advice_sentences(_STRENGTH_LINE.sub("", a["text"]))
        rows.append(
            {
                "id": a["id"],
                "sentences": len(sentences),
                "copied_run": sum(x >= COPIED for x in run_shares),
                "copied_shingles": shingle_copies,
                "run_shares": run_shares,
                "advice": len(advice_own),
                "advice_cited": sum(bool(parse_markers(s)) for s in advice_own),
                "advice_all": len(advice_all),
                "advice_all_cited": sum(bool(parse_markers(s)) for s in advice_all),
                "grounding_rate": a.get("grounding_rate"),
                "wall_s": a.get("wall_s"),
                "book_quotes": _book_quotes(a) if strategy == "structured" else 0,
            }
        )
    # strict_support without a judge, with the reason a pair fails kept (garbled, no anchor, low cosine)
    check = StrictCheck()
    sigs = signals(pairs) if pairs else []
    verdicts = [check.decide(x) for x in sigs]
    for row, (lo, hi) in zip(rows, spans, strict=True):
        row["strict_pairs"], row["strict_supported"] = hi - lo, sum(verdicts[lo:hi])
        part = sigs[lo:hi]
        row["strict_fail_garble"] = sum(x.garble >= check.max_garble for x in part)
        row["strict_fail_overlap"] = sum(
            x.garble < check.max_garble and x.overlap < check.min_overlap for x in part
        )
        row["strict_fail_cosine"] = (
            hi - lo - row["strict_supported"] - row["strict_fail_garble"] - row["strict_fail_overlap"]
        )
    out: dict[str, Any] = {"summary": summarise(rows, len(answers) - len(llm)), "rows": rows}
    if judge is not None and judge_sample:
        out["judge"] = judge_pairs(pairs, sigs, judge, judge_sample, check)
    return out


def _book_quotes(answer: dict) -> int:
    """The book's own words Cadenza quotes after a step or refinement (left out where the step carries them)."""
    return len(quotes(answer.get("citations", [])).findall(answer["text"]))


def judge_pairs(
    pairs: Sequence[tuple[str, str]], sigs: Sequence[Any], judge: Any, n: int, check: Any
) -> dict[str, Any]:
    """``ground_strict`` with the LLM judge on a seeded sample of ``n`` pairs that pass the cheap gates (the
    judge is never asked about the others: they are unsupported either way). Cost keeps it to a sample."""
    import random

    gated = [i for i, x in enumerate(sigs) if check.passes_gates(x)]
    sample = sorted(random.Random(18).sample(gated, min(n, len(gated))))
    rows = []
    for i in sample:
        p_yes = judge.p_yes(*pairs[i])
        rows.append(
            {
                "pair": i,
                "p_yes": round(p_yes, 3),
                "judge": check.decide(sigs[i], p_yes),
                "cosine_check": check.decide(sigs[i]),
            }
        )
    return {
        "pairs": len(pairs),
        "pass_gates": len(gated),
        "judged": len(rows),
        "judge_supported": sum(r["judge"] for r in rows),
        "cosine_supported_same_pairs": sum(r["cosine_check"] for r in rows),
        "agree_with_cosine_check": sum(r["judge"] == r["cosine_check"] for r in rows),
        "rows": rows,
    }


def _share(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _sum(rows: Sequence[dict], key: str) -> int:
    return sum(r[key] for r in rows)


def summarise(rows: Sequence[dict], fallbacks: int = 0) -> dict[str, Any]:
    """Pooled over the LLM answers' rows (``fallbacks``: answers left out because the fallback wrote them)."""
    total = _sum(rows, "sentences")
    grounded = [r["grounding_rate"] for r in rows if r["grounding_rate"] is not None]
    walls = sorted(r["wall_s"] for r in rows if r["wall_s"] is not None)
    return {
        "llm_answers": len(rows),
        "fallback_answers": fallbacks,
        "model_sentences": total,
        "copied_cited_run": _sum(rows, "copied_run"),
        "copied_cited_run_share": _share(_sum(rows, "copied_run"), total),
        "copied_corpus_shingles": _sum(rows, "copied_shingles"),
        "copied_corpus_shingles_share": _share(_sum(rows, "copied_shingles"), total),
        "advice_sentences": _sum(rows, "advice"),
        "advice_cited_share": _share(_sum(rows, "advice_cited"), _sum(rows, "advice")),
        "advice_sentences_whole_text": _sum(rows, "advice_all"),
        "advice_cited_share_whole_text": _share(_sum(rows, "advice_all_cited"), _sum(rows, "advice_all")),
        "grounding_minilm_mean": round(sum(grounded) / len(grounded), 3) if grounded else None,
        "strict_pairs": _sum(rows, "strict_pairs"),
        "strict_supported": _sum(rows, "strict_supported"),
        "strict_supported_share": _share(_sum(rows, "strict_supported"), _sum(rows, "strict_pairs")),
        "strict_fail_garble": _sum(rows, "strict_fail_garble"),
        "strict_fail_overlap": _sum(rows, "strict_fail_overlap"),
        "strict_fail_cosine": _sum(rows, "strict_fail_cosine"),
        "book_quotes": sum(r.get("book_quotes", 0) for r in rows),
        "wall_s_median": walls[len(walls) // 2] if walls else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, action="append", required=True)
    parser.add_argument("--side", action="append", required=True, help="NAME=ANSWERS.jsonl:STRATEGY")
    parser.add_argument("--home", type=Path, required=True, help="CADENZA_HOME with the corpus database")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/texts"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--judge-gguf", type=Path, default=None, help="LLM judge (rag.generation.grounding)")
    parser.add_argument("--judge-sample", type=int, default=12, help="pairs per side the judge sees")
    parser.add_argument("--judge-threads", type=int, default=1)
    args = parser.parse_args(argv)
    judge = None
    if args.judge_gguf:
        from rag.generation.grounding import LlmJudge

        judge = LlmJudge(str(args.judge_gguf), n_threads=args.judge_threads)
    items = {r["id"]: r for path in args.items for r in _jsonl(path)}
    groups = {r["id"]: path.stem for path in args.items for r in _jsonl(path)}
    corpus = corpus_shingles(p.read_text(encoding="utf-8") for p in sorted(args.corpus.glob("*.txt")))
    out = {}
    for spec in args.side:
        name, rest = spec.split("=", 1)
        path, strategy = rest.rsplit(":", 1)
        result = measure(
            _jsonl(Path(path)), items, strategy, args.home / "cadenza.db", corpus, judge, args.judge_sample
        )
        for group in dict.fromkeys(groups.values()):  # the same figures per items file
            rows = [r for r in result["rows"] if groups[r["id"]] == group]
            result[f"summary_{group}"] = summarise(rows)
            print(json.dumps({"side": name, "items": group, **result[f"summary_{group}"]}))
        out[name] = result
        print(json.dumps({"side": name, "items": "all", **result["summary"]}))
        if "judge" in result:
            print(
                json.dumps({"side": name, "judge": {k: v for k, v in result["judge"].items() if k != "rows"}})
            )
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
