"""Build the grounding pairs (eval/grounding/pairs.jsonl) and the blind labelling sheet.

Real material: every cited sentence in the committed feedback runs of the system as it was (the 0.5B model's
answers, raw and checked, and the deterministic fallback's, eval/results/feedback_eval*.json over the 24
committed profiles). Those runs did not store the cited passages, so a passage is found where the cited
text comes from: a sentence that copies book text (a 7-word run found in the corpus) locates its source,
and the other sentences citing the same source in the same answer part share that passage. The passage is a
chunk-sized span (~1,100 characters, cut at sentence ends) around the copied text, referenced by slug and
character range into ../shared/corpus/texts (book text is never copied into the repository).

Hard negatives: copied sentences cited to another answer's passage (copied book text, wrong passage), and
the hand-written pairs of eval/grounding/handwritten.jsonl (topic overlap without support, contradiction,
garbled text, and faithful paraphrases so that the supported class is not only copies).

The split is fixed here, before any label or tuning: ids are sorted by SHA-256 and the first ``TUNE_N`` are
the TUNE set, the rest the CHECK set (never used to tune anything).

    python eval/grounding/build_pairs.py --corpus ../shared/corpus/texts [--sheet /tmp/sheet.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from rag.generation.citations import parse_markers, split_sentences, strip_markers

HERE = Path(__file__).parent
RESULTS = HERE.parent / "results"
RUNS = [
    "feedback_eval.json",
    "feedback_eval_per_dimension.json",
    "feedback_eval_per_dimension_b595337.json",
    "feedback_eval_per_dimension_f596274.json",
]
FIELDS = ["raw_llm_text", "llm_candidate_text", "text", "fallback_text"]
TUNE_N = 34
SEED = 18
_WORD = re.compile(r"[A-Za-z]+")
_N = 7


def _index(texts: dict[str, str]) -> dict[tuple[str, ...], tuple[str, int]]:
    idx: dict[tuple[str, ...], tuple[str, int]] = {}
    for slug in sorted(texts):
        matches = list(_WORD.finditer(texts[slug]))
        words = [m.group().lower() for m in matches]
        for i in range(len(words) - _N + 1):
            idx.setdefault(tuple(words[i : i + _N]), (slug, matches[i].start()))
    return idx


def _locate(sentence: str, idx: dict) -> tuple[str, int] | None:
    words = [w.lower() for w in _WORD.findall(strip_markers(sentence))]
    for i in range(len(words) - _N + 1):
        hit = idx.get(tuple(words[i : i + _N]))
        if hit:
            return hit
    return None


def passage_span(text: str, pos: int, before: int = 450, after: int = 650) -> tuple[int, int]:
    """A chunk-sized span around ``pos``, starting after a sentence end and ending at one."""
    start = max(0, pos - before)
    cut = text.rfind(". ", start, pos)
    start = cut + 2 if cut >= 0 else start
    end = text.find(". ", pos + after)
    end = len(text) if end < 0 else end + 1
    return start, end


def real_pairs(texts: dict[str, str]) -> list[dict]:
    idx = _index(texts)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for run in RUNS:
        data = json.loads((RESULTS / run).read_text(encoding="utf-8"))
        for prof in data["per_profile"]:
            for field in FIELDS:
                text = prof.get(field)
                if not text:
                    continue
                for line_no, line in enumerate(text.split("\n")):  # one answer part per line
                    for sentence in split_sentences(line):
                        numbers = [n for m in parse_markers(sentence) for n in m.numbers]
                        if numbers:
                            origin = "fallback" if field == "fallback_text" else "llm"
                            groups[(run, prof["id"], field, line_no, numbers[0], origin)].append(sentence)
    pairs: dict[tuple, dict] = {}
    for key, sentences in groups.items():
        hits = [h for h in (_locate(s, idx) for s in sentences) if h]
        if not hits:
            continue
        slug, pos = hits[0]
        start, end = passage_span(texts[slug], pos)
        for sentence in sentences:
            ref = (sentence, slug, start, end)
            if ref not in pairs:
                pairs[ref] = {
                    "origin": f"{key[5]}:{key[2]}",
                    "source_run": key[0],
                    "profile": key[1],
                    "sentence": sentence,
                    "slug": slug,
                    "char_start": start,
                    "char_end": end,
                }
    return list(pairs.values())


def pair_id(row: dict) -> str:
    key = f"{row['sentence']}\x00{row['slug']}:{row['char_start']}:{row['char_end']}"
    return "g" + hashlib.sha256(key.encode()).hexdigest()[:10]


def build(corpus: Path) -> list[dict]:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
    rng = random.Random(SEED)
    real = real_pairs(texts)
    rng.shuffle(real)
    fallback = [r for r in real if r["origin"].startswith("fallback")]
    llm = [r for r in real if r["origin"].startswith("llm")]
    chosen = fallback[:16] + llm[:56]
    # copied book text cited to the wrong passage: a copied LLM sentence with another answer's passage
    # from a different book
    copied = [r for r in llm[56:] if _locate(r["sentence"], _index({r["slug"]: texts[r["slug"]]}))]
    wrong = []
    for r in copied[:14]:
        other = next(o for o in real if o["slug"] != r["slug"] and o is not r and rng.random() < 0.2)
        wrong.append(
            {
                **r,
                "origin": "negative:wrong_passage",
                "slug": other["slug"],
                "char_start": other["char_start"],
                "char_end": other["char_end"],
            }
        )
    rows = chosen + wrong
    hand = HERE / "handwritten.jsonl"
    if hand.exists():
        for line in hand.read_text(encoding="utf-8").splitlines():
            if line.strip():
                h = json.loads(line)
                rows.append(
                    {
                        "origin": f"handwritten:{h['kind']}",
                        **{k: h[k] for k in ("sentence", "slug", "char_start", "char_end")},
                    }
                )
    for row in rows:
        row["id"] = pair_id(row)
    ids = sorted({r["id"] for r in rows}, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    tune = set(ids[:TUNE_N])
    unique = {r["id"]: r for r in rows}
    out = []
    for i in ids:
        out.append(
            {
                "id": i,
                "split": "tune" if i in tune else "check",
                **{k: v for k, v in unique[i].items() if k != "id"},
            }
        )
    return out


def write_sheet(rows: list[dict], corpus: Path, path: Path) -> None:
    """The blind sheet: opaque id, sentence, passage; shuffled; nothing about origin or any checker."""
    texts = {}
    order = list(rows)
    random.Random(SEED + 1).shuffle(order)
    lines = ["# Grounding labelling sheet (blind: read eval/grounding/INSTRUCTIONS.md first)", ""]
    for row in order:
        if row["slug"] not in texts:
            texts[row["slug"]] = (corpus / f"{row['slug']}.txt").read_text(encoding="utf-8")
        passage = " ".join(texts[row["slug"]][row["char_start"] : row["char_end"]].split())
        lines += [f"## {row['id']}", "", f"SENTENCE: {row['sentence']}", "", f"PASSAGE: {passage}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Build eval/grounding/pairs.jsonl and the blind sheet.")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/texts"))
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "pairs.jsonl")
    args = parser.parse_args()
    rows = build(args.corpus)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    if args.sheet:
        write_sheet(rows, args.corpus, args.sheet)
    print(f"{len(rows)} pairs ({sum(r['split'] == 'check' for r in rows)} check) -> {args.out}")


if __name__ == "__main__":
    main()
