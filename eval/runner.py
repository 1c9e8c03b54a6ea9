"""Runs every requested system over an eval set: one index build per configuration, depth-100 rankings,
credited gains, metrics per query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api.errors import InputError
from api.settings import Settings
from eval.backends import CadenzaBackend, SearchBackend, corpus_sources
from eval.credit import Credit, RankedItem, credit_ids, credit_spans
from eval.judgements import EvalQuery, EvalSet, GoldId, GoldSpan
from eval.metrics import DEPTH, all_metrics

NAIVE = "naive"
DEFAULT = "default"


@dataclass(frozen=True)
class SystemSpec:
    """`mode` of configuration `config`; shown as `mode` for the default configuration, else `config/mode`."""

    config: str
    mode: str

    @property
    def name(self) -> str:
        return self.mode if self.config == DEFAULT else f"{self.config}/{self.mode}"

    @classmethod
    def parse(cls, text: str) -> SystemSpec:
        config, sep, mode = text.strip().rpartition("/")
        if not mode:
            raise InputError(f"bad system {text!r}: expected MODE or CONFIG/MODE")
        return cls(config if sep else DEFAULT, mode)


@dataclass
class QueryOutcome:
    metrics: dict[str, float]
    top3: list[dict[str, object]]
    latency_ms: dict[str, float]  # per stage, plus "total"
    ranking: list[RankedItem] = field(default_factory=list)  # depth-100, for offline analysis (--rankings)


@dataclass
class SystemRun:
    spec: SystemSpec
    outcomes: dict[str, QueryOutcome] = field(default_factory=dict)  # by query_id


def parse_overrides(text: str) -> tuple[str, dict[str, str]]:
    """`NAME:key=value,key=value` -> (NAME, {key: value}) for a named configuration."""
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not sep or not name or "/" in name or name in (DEFAULT, NAIVE):
        raise InputError(
            f"bad --config {text!r}: expected NAME:key=value[,key=value] (NAME not default/naive)"
        )
    overrides: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key.strip() not in Settings.model_fields:
            raise InputError(f"bad --config {text!r}: {part!r} is not key=value for a known setting")
        overrides[key.strip()] = value.strip()
    return name, overrides


def configured_settings(base: Settings, overrides: dict[str, str]) -> Settings:
    try:
        return Settings.model_validate({**base.model_dump(), **overrides})
    except ValueError as err:
        raise InputError(f"invalid configuration {overrides}: {err}") from err


def credit(query: EvalQuery, ranking: Sequence[RankedItem], *, id_kind: str, chunk_half: bool) -> Credit:
    if query.gold and isinstance(query.gold[0], GoldSpan):
        return credit_spans(ranking, query.gold, chunk_half=chunk_half)  # type: ignore[arg-type]
    gold: Sequence[GoldId] = query.gold  # type: ignore[assignment]
    ids = [item.chunk_id if id_kind == "chunk" else item.source for item in ranking]
    return credit_ids(ids, gold)


BackendFactory = Callable[[str, Settings], SearchBackend]


def make_backend_factory(
    evalset: EvalSet, *, corpus_dir: Path | None, cache_dir: Path, progress: bool
) -> BackendFactory:
    def build(config: str, settings: Settings) -> SearchBackend:
        if config == NAIVE:
            from eval.naive import NaiveBackend

            if not evalset.by_span:
                raise InputError("the naive baseline runs on span judgements (spans, hofmann) only")
            folder = corpus_dir or settings.corpus_dir
            return NaiveBackend(
                corpus_sources(folder, evalset),
                cache_path=cache_dir / "naive-embeddings.sqlite",
                progress=progress,
            )
        if evalset.format == "hofmann" and corpus_dir is None:
            raise InputError("Hofmann mode indexes a masked copy of the book: pass --corpus DIR")
        return CadenzaBackend(settings, evalset, corpus_dir=corpus_dir, progress=progress)

    return build


def run_systems(
    evalset: EvalSet,
    systems: Sequence[SystemSpec],
    configs: dict[str, Settings],
    build: BackendFactory,
    *,
    depth: int = DEPTH,
    on_query: Callable[[], None] | None = None,
) -> list[SystemRun]:
    """Each configuration's backend is built once and closed before the next one is built."""
    runs = {spec: SystemRun(spec) for spec in systems}
    chunk_half = evalset.format == "hofmann"
    for config in dict.fromkeys(spec.config for spec in systems):
        specs = [s for s in systems if s.config == config]
        backend = build(config, configs[config])
        try:
            for spec in specs:
                if spec.mode not in backend.modes:
                    raise InputError(
                        f"system {spec.name!r}: configuration {config!r} has no mode {spec.mode!r}"
                    )
            for query in evalset.queries:
                for spec in specs:
                    ranking, timings = backend.search(query.text, spec.mode, depth)
                    c = credit(query, ranking[:depth], id_kind=evalset.id_kind, chunk_half=chunk_half)
                    latency = dict(timings)
                    latency.setdefault("total", sum(timings.values()))
                    runs[spec].outcomes[query.query_id] = QueryOutcome(
                        all_metrics(c),
                        [
                            {
                                "rank": r,
                                "chunk_id": it.chunk_id,
                                "source": it.source,
                                "char_start": it.start,
                                "char_end": it.end,
                                "gain": g,
                                "text": it.text[:200],
                            }
                            for r, (it, g) in enumerate(zip(ranking[:3], c.gains[:3], strict=False), start=1)
                        ],
                        latency,
                        [RankedItem(it.chunk_id, it.source, it.start, it.end) for it in ranking[:depth]],
                    )
                if on_query:
                    on_query()
        finally:
            backend.close()
    return [runs[s] for s in systems]
