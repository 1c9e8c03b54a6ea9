"""Hand-labelled grounding pairs (eval/grounding_pairs.jsonl): a feedback-style sentence and a corpus
passage (referenced by slug and character range, never copied), labelled supported or not by hand.
Split "calibration" fixes the threshold; split "test" (other passages) reports how well it separates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from api.settings import Settings
from rag.generation.grounding import calibrate, support_scores

PAIRS_FILE = Path(__file__).with_name("grounding_pairs.jsonl")


@dataclass(frozen=True)
class Pair:
    split: str
    passage_id: str
    sentence: str
    passage: str
    supported: bool


def load_pairs(settings: Settings, path: Path = PAIRS_FILE) -> list[Pair]:
    pairs, texts = [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["slug"] not in texts:
            texts[row["slug"]] = (settings.corpus_dir / f"{row['slug']}.txt").read_text(encoding="utf-8")
        passage = texts[row["slug"]][row["char_start"] : row["char_end"]]
        pairs.append(Pair(row["split"], row["passage"], row["sentence"], passage, bool(row["supported"])))
    return pairs


def evaluate(settings: Settings, path: Path = PAIRS_FILE) -> dict:
    pairs = load_pairs(settings, path)
    scores = support_scores([(p.sentence, p.passage) for p in pairs])
    cal = [(s, p.supported) for s, p in zip(scores, pairs, strict=True) if p.split == "calibration"]
    threshold = calibrate([s for s, _ in cal], [y for _, y in cal])

    def metrics(split: str) -> dict:
        rows = [(s, p.supported) for s, p in zip(scores, pairs, strict=True) if p.split == split]
        tp = sum(s >= threshold and y for s, y in rows)
        fp = sum(s >= threshold and not y for s, y in rows)
        tn = sum(s < threshold and not y for s, y in rows)
        fn = sum(s < threshold and y for s, y in rows)
        return {
            "pairs": len(rows),
            "accuracy": round((tp + tn) / len(rows), 3),
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
        }

    return {
        "threshold": round(threshold, 4),
        "calibration": metrics("calibration"),
        "test": metrics("test"),
        "scores": [
            {"split": p.split, "passage": p.passage_id, "supported": p.supported, "score": round(s, 4)}
            for s, p in zip(scores, pairs, strict=True)
        ],
    }
