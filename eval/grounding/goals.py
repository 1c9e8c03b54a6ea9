"""Coverage and grounding of committed feedback runs under the committed cosine and the stricter check.

Coverage = share of advice sentences that carry a citation (eval/feedback_eval.py's definition); grounding =
share of (cited sentence, passage) pairs supported. The committed runs did not store passages, so a cited
sentence is scored where its passage could be located in the corpus (eval/grounding/build_pairs.py: copied
text locates the source, the answer part's other sentences citing the same marker share it); the share
located is reported with the rates.

    python -m eval.grounding.goals [--runs feedback_eval_per_dimension.json ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.grounding.build_pairs import RESULTS, _index, _locate, passage_span

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "texts"


def run_goals(run: str, field: str, corpus: Path = CORPUS) -> dict:
    from eval.feedback_eval import advice_sentences
    from rag.generation.citations import parse_markers, split_sentences
    from rag.generation.config import GROUNDING_THRESHOLD
    from rag.generation.grounding import strict_support, support_scores

    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
    idx = _index(texts)
    data = json.loads((RESULTS / run).read_text(encoding="utf-8"))
    coverage, pairs, cited_total = [], [], 0
    for prof in data["per_profile"]:
        text = prof.get(field)
        if not text:
            continue
        advice = advice_sentences(text)
        if advice:
            coverage.append(sum(bool(parse_markers(s)) for s in advice) / len(advice))
        for line in text.split("\n"):
            groups: dict[int, list[str]] = {}
            for sentence in split_sentences(line):
                numbers = [n for m in parse_markers(sentence) for n in m.numbers]
                for n in numbers:
                    groups.setdefault(n, []).append(sentence)
            for sentences in groups.values():
                cited_total += len(sentences)
                hit = next((h for h in (_locate(s, idx) for s in sentences) if h), None)
                if hit:
                    start, end = passage_span(texts[hit[0]], hit[1])
                    pairs += [(s, " ".join(texts[hit[0]][start:end].split())) for s in sentences]
    cos = support_scores(pairs)
    strict = strict_support(pairs)
    n = len(pairs)
    return {
        "run": run,
        "field": field,
        "answers": len(coverage),
        "coverage_advice_cited": round(sum(coverage) / len(coverage), 3) if coverage else None,
        "cited_pairs": cited_total,
        "pairs_located": n,
        "grounding_cosine_committed": round(sum(c >= GROUNDING_THRESHOLD for c in cos) / n, 3) if n else None,
        "grounding_strict": round(sum(strict) / n, 3) if n else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", nargs="*", default=["feedback_eval_per_dimension.json", "feedback_eval.json"]
    )
    parser.add_argument("--fields", nargs="*", default=["text", "fallback_text"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = [run_goals(run, field) for run in args.runs for field in args.fields]
    print(json.dumps(rows, indent=1))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
