"""How much of the LLM's feedback is copied from the books: for each model sentence (Cadenza's own
strength / what-and-where lines removed), the share of its 8-word shingles that occur in the corpus.
A sentence with ≥ 80 % of its shingles in the corpus counts as copied. Grounding scores a copied
sentence as supported; this tells a copied answer from a paraphrase. Also the weak-dimension coverage
of the model's own words (with Cadenza's what-and-where lines removed, which name every weak dimension).

    python -m eval.feedback_copying eval/results/feedback_eval.json [...]"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path

from rag.generation.citations import split_sentences, strip_markers
from rag.generation.dimension_words import mentions

N = 8
COPIED = 0.8
_WORD = re.compile(r"[a-z0-9]+")
# Lines and prefixes Cadenza writes itself (rag/generation/fallback.py strength_sentence / weak_head).
_STRENGTH = re.compile(r"^Strength: .*$", re.MULTILINE)
_HEAD = re.compile(
    r"^[A-Z][^:\n]*? is (?:weak|below average|average|good|very good)"
    r"(?:, especially at [^\n]*?\)|, especially at [0-9:–, and]+| throughout the recording)[:.]\s*",
    re.MULTILINE,
)


def _shingles(words: list[str]) -> set[int]:
    return {hash(tuple(words[i : i + N])) for i in range(len(words) - N + 1)}


def corpus_shingles(texts: Iterable[str]) -> set[int]:
    out: set[int] = set()
    for text in texts:
        out |= _shingles(_WORD.findall(text.lower()))
    return out


def model_sentences(text: str) -> list[str]:
    text = _HEAD.sub("", _STRENGTH.sub("", text))
    return [
        s for s in (strip_markers(s) for s in split_sentences(text)) if len(_WORD.findall(s.lower())) >= N
    ]


def copied_share(text: str, corpus: set[int]) -> tuple[int, int]:
    """(sentences copied, sentences of ≥ 8 words)."""
    sentences = model_sentences(text)
    copied = 0
    for sentence in sentences:
        grams = _shingles(_WORD.findall(sentence.lower()))
        copied += bool(grams) and len(grams & corpus) / len(grams) >= COPIED
    return copied, len(sentences)


def main(paths: list[str]) -> None:
    from api.settings import get_settings

    corpus = corpus_shingles(
        p.read_text(encoding="utf-8") for p in sorted(get_settings().corpus_dir.glob("*.txt"))
    )
    for path in paths:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))["per_profile"]
        answered = [r for r in rows if r.get("raw_llm_text")]
        counts = [copied_share(r["raw_llm_text"], corpus) for r in answered]
        shares = [c / n for c, n in counts if n]
        own = [
            sum(mentions(_HEAD.sub("", _STRENGTH.sub("", r["raw_llm_text"])), n) for n in r["weak"])
            / len(r["weak"])
            for r in answered
        ]
        print(
            json.dumps(
                {
                    "file": path,
                    "llm_answers": len(counts),
                    "sentences": sum(n for _, n in counts),
                    "copied_sentences": sum(c for c, _ in counts),
                    "mean_copied_share": round(statistics.fmean(shares), 4) if shares else None,
                    "weak_dimension_coverage_model_words": round(statistics.fmean(own), 4) if own else None,
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
