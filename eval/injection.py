"""How the injection detector (corpus/injection.py) does: recall on the injection attempts and false
positives on the harmless corpus passages of eval/injection_set.jsonl, and the share of the corpus books'
chunks it flags (chunked as the index chunks them; no embedding).

    python -m eval.injection [--no-corpus] [--json eval/results/injection.json]

The set was written and committed before the rules (19c632d), and the rules were then written against it
(there is no held-out half: a rule list has nothing to fit)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from corpus.injection import injection_flag

SET_PATH = Path(__file__).with_name("injection_set.jsonl")


@dataclass(frozen=True)
class Example:
    id: str
    label: str  # "injection" or "harmless"
    source: str
    text: str


@dataclass
class SetScore:
    true_positive: int = 0
    false_negative: int = 0
    false_positive: int = 0
    true_negative: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_flagged: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.true_positive / max(self.true_positive + self.false_negative, 1)

    @property
    def precision(self) -> float:
        return self.true_positive / max(self.true_positive + self.false_positive, 1)

    @property
    def false_positive_rate(self) -> float:
        return self.false_positive / max(self.false_positive + self.true_negative, 1)


def load_set(path: Path = SET_PATH) -> list[Example]:
    return [
        Example(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def score_set(examples: list[Example]) -> SetScore:
    score = SetScore()
    for example in examples:
        flagged = injection_flag(example.text) is not None
        if example.label == "injection":
            score.true_positive += flagged
            score.false_negative += not flagged
            if not flagged:
                score.missed.append(example.id)
        else:
            score.false_positive += flagged
            score.true_negative += not flagged
            if flagged:
                score.wrongly_flagged.append(example.id)
    return score


def corpus_share(texts_dir: Path) -> tuple[int, int, list[dict[str, str]]]:
    """Chunk every book as the index does and count the chunks the detector flags."""
    from api.settings import Settings
    from corpus.loaders import load_file
    from rag.retrieval.chunker import chunk_document, slugify
    from rag.retrieval.embedder import load_embedder

    config = Settings().retrieval_config()
    embedder = load_embedder(config)
    total, flagged = 0, []  # flagged: chunk id, reason, start of the text
    books = sorted(texts_dir.glob("*.txt"))
    for path in books:
        doc = load_file(path)
        for chunk in chunk_document(slugify(path.stem), doc, config, embedder):
            total += 1
            flag = injection_flag(chunk.text)
            if flag:
                flagged.append(
                    {"chunk_id": chunk.chunk_id, "reason": flag, "text": " ".join(chunk.text.split())[:300]}
                )
    return len(books), total, flagged


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", type=Path, default=SET_PATH)
    parser.add_argument("--texts", type=Path, default=None, help="the books (default: <shared>/corpus/texts)")
    parser.add_argument("--no-corpus", action="store_true", help="only the labelled set")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args()

    examples = load_set(args.set)
    score = score_set(examples)
    n_attacks = score.true_positive + score.false_negative
    n_harmless = score.false_positive + score.true_negative
    print(f"set: {n_attacks} injection attempts, {n_harmless} harmless corpus passages")
    print(
        f"recall {score.recall:.3f} ({score.true_positive}/{n_attacks}); missed: {', '.join(score.missed) or 'none'}"
    )
    print(
        f"precision {score.precision:.3f}; false positives {score.false_positive}/{n_harmless} "
        f"({score.false_positive_rate:.1%}): {', '.join(score.wrongly_flagged) or 'none'}"
    )
    result: dict[str, object] = {
        "set": str(args.set.name),
        "injection": n_attacks,
        "harmless": n_harmless,
        "recall": score.recall,
        "precision": score.precision,
        "false_positive_rate": score.false_positive_rate,
        "missed": score.missed,
        "wrongly_flagged": score.wrongly_flagged,
    }
    if not args.no_corpus:
        from api.settings import Settings

        texts = args.texts or Settings().shared_dir / "corpus" / "texts"
        books, chunks, flagged = corpus_share(texts)
        print(
            f"corpus: {len(flagged)} of {chunks} chunks flagged ({len(flagged) / max(chunks, 1):.2%}) in {books} books"
        )
        for item in flagged:
            print(f"  {item['chunk_id']}: {item['reason']}")
        result["corpus"] = {
            "books": books,
            "chunks": chunks,
            "flagged": len(flagged),
            "share": len(flagged) / max(chunks, 1),
            "flagged_chunks": flagged,
        }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
