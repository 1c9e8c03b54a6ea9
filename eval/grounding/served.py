"""Hand labels for the citation gate (issue 18): are the step sentences it cites really supported?

Structured feedback cites a model's step sentence only when the strict check finds its passage supports it
(rag.generation.structured). Measured on that check, served grounding is 1.0 by construction; what matters
is whether a careful reader agrees. This module

- ``build``: takes every model step (or refinement) sentence of a feedback run (eval/preference/generate.py
  output) with the passage of its problem, cited or not, gives each pair an opaque id, writes the pairs
  (sentence, passage by slug and character range: book text stays out of the repository) and a shuffled
  sheet that shows only id, sentence (markers removed) and passage, to be labelled blind following
  eval/grounding/INSTRUCTIONS.md; whether the gate cited the sentence is in the pairs file, not the sheet;
- ``score``: the labels against the gate: precision of what it cites (the grounding of served citations
  under hand labels), how much supported advice it leaves uncited, accuracy and Cohen's kappa, with
  bootstrap intervals.

    python -m eval.grounding.served build --answers eval/preference/round3/new3.jsonl \\
        --items eval/feedback_profiles.jsonl --items eval/preference/render_items.jsonl \\
        --home $CADENZA_HOME --out eval/grounding/served --sheet /tmp/served_sheet.md
    python -m eval.grounding.served score --dir eval/grounding/served
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from eval.grounding.agreement import kappa
from eval.loaders import read_jsonl
from rag.generation.citations import parse_markers, split_sentences, strip_markers

SEED = 18
MIN_WORDS = 4
CADENZA_STEP = "Practise that passage slowly, a few times, listening only for"
CADENZA_REFINE = "Choose one short passage and play it slowly"


def step_pairs(answer: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's step (and refinement) sentences of one structured answer, each with its problem's
    citation and whether the gate cited it."""
    from eval.preference.measures import quotes, structured_heads

    citations = {int(c["n"]): c for c in answer.get("citations", [])}
    quoted = quotes(list(citations.values()))
    heads = structured_heads(item)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for part in answer["text"].split("\n\n")[1:]:  # the strength line is praise, not cited
        numbers = {n for m in parse_markers(part) for n in m.numbers}
        if len(numbers) != 1 or next(iter(numbers)) not in citations:
            continue  # no passage for this problem
        citation = citations[next(iter(numbers))]
        own = quoted.sub("", part).removeprefix("To refine: ")
        for head in heads:
            own = own.replace(head, "")
        for sentence in split_sentences(own.strip()):
            plain = strip_markers(sentence).strip()
            if len(plain.split()) < MIN_WORDS or plain.startswith((CADENZA_STEP, CADENZA_REFINE)):
                continue
            key = f"{answer['id']}|{plain}"
            if key in seen:  # the same sentence under another problem: another pair
                key = f"{answer['id']}|{citation['chunk_id']}|{plain}"
            seen.add(key)
            out.append(
                {
                    "id": "s" + hashlib.sha256(key.encode()).hexdigest()[:10],
                    "answer": answer["id"],
                    "sentence": plain,
                    "cited": bool(parse_markers(sentence)),
                    "chunk_id": citation["chunk_id"],
                    **{k: (citation.get("passage") or {}).get(k) for k in ("slug", "char_start", "char_end")},
                }
            )
    return out


def build(args: argparse.Namespace) -> int:
    items = {r["id"]: r for path in args.items for r in read_jsonl(path)}
    answers = [a for a in read_jsonl(args.answers) if a.get("generator") == "llm"]
    pairs = [p for a in answers for p in step_pairs(a, items[a["id"]])]
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "pairs.jsonl").open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    order = sorted(pairs, key=lambda p: p["id"])
    random.Random(SEED).shuffle(order)
    from eval.preference.measures import chunk_texts

    texts = chunk_texts(args.home / "cadenza.db", [p["chunk_id"] for p in pairs])
    lines = ["# Labelling sheet (follow eval/grounding/INSTRUCTIONS.md)", ""]
    for p in order:
        passage = " ".join(texts.get(p["chunk_id"], "").split())
        lines += [f"## {p['id']}", "", f"**Sentence:** {p['sentence']}", "", f"**Passage:** {passage}", ""]
    args.sheet.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(pairs)} pairs ({sum(p['cited'] for p in pairs)} cited) from {len(answers)} answers")
    return 0


def agreement(gate: list[bool], label: list[bool]) -> dict[str, Any]:
    """Precision of the gate's citations, the supported sentences it left uncited, accuracy and kappa."""
    tp = sum(g and y for g, y in zip(gate, label, strict=True))
    fp = sum(g and not y for g, y in zip(gate, label, strict=True))
    fn = sum(not g and y for g, y in zip(gate, label, strict=True))
    tn = len(gate) - tp - fp - fn
    return {
        "pairs": len(gate),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "cited_supported_share": round(tp / (tp + fp), 3) if tp + fp else None,
        "uncited_supported_share": round(fn / (fn + tn), 3) if fn + tn else None,
        "labelled_supported_cited_share": round(tp / (tp + fn), 3) if tp + fn else None,
        "accuracy": round((tp + tn) / len(gate), 3),
        "kappa": round(kappa(gate, label), 3),
    }


def score(args: argparse.Namespace) -> int:
    pairs = {p["id"]: p for p in read_jsonl(args.dir / "pairs.jsonl")}
    labels = {r["id"]: bool(r["supported"]) for r in read_jsonl(args.dir / "labels.jsonl")}
    ids = sorted(set(pairs) & set(labels))
    if not ids:
        print("no labelled pairs", file=sys.stderr)
        return 2
    gate = [pairs[i]["cited"] for i in ids]
    label = [labels[i] for i in ids]
    out = agreement(gate, label)
    rng = random.Random(SEED)
    boots: dict[str, list[float]] = {"cited_supported_share": [], "accuracy": [], "kappa": []}
    for _ in range(2000):
        sample = [rng.randrange(len(ids)) for _ in ids]
        b = agreement([gate[i] for i in sample], [label[i] for i in sample])
        for key in boots:
            if b[key] is not None:
                boots[key].append(b[key])
    for key, values in boots.items():
        if not values:
            continue
        values.sort()
        out[f"{key}_ci95"] = [values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]]
    out["unlabelled"] = len(pairs) - len(ids)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--answers", type=Path, required=True)
    b.add_argument("--items", type=Path, action="append", required=True)
    b.add_argument("--home", type=Path, required=True, help="CADENZA_HOME with the corpus database")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--sheet", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    return build(args) if args.command == "build" else score(args)


if __name__ == "__main__":
    raise SystemExit(main())
