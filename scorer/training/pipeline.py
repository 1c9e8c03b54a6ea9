"""`cadenza scorer train` and `cadenza scorer eval`: files in, committed artefacts out.

Artefacts (next to the weights, default scorer/models/embedded/):
  folds.json            the 4 leak-free folds (+ the music groups they come from)
  model.npz             the two heads (audio, midi), 4 fold models each
  oof_audio.json        out-of-fold predictions per PercePiano key (audio head), likewise oof_midi.json
  oof_audio_performer.json   the same with performer-grouped folds (a report, not the shipped model)
  model_card.json / .md / .png   metrics recomputable from the files above and the labels
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scorer.config import ScorerConfig
from scorer.dimensions import DIMENSIONS
from scorer.errors import ScorerConfigError
from scorer.inference.model import EmbeddedModel
from scorer.inference.service import REFERENCE_FILE
from scorer.training.dataset import FeatureTable, load_labels, midi_path, parse_key, score_midi_path
from scorer.training.folds import assign_folds, load_folds, music_groups, performer_folds, save_folds
from scorer.training.metrics import report

if TYPE_CHECKING:
    from scorer.training.tables import Progress

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "models" / "embedded"
HEADS = ("audio", "midi")


def write_reference(oof: dict[str, np.ndarray], path: Path = REFERENCE_FILE) -> None:
    """Quantiles of the audio head's out-of-fold scores of the 1,189 PercePiano performances.

    Why predictions, not labels: a model with R² ~0.3 shrinks its scores toward the mean, so against the
    label distribution almost nothing would ever sit in a tail. A percentile among the model's own
    held-out scores of real performances says where a recording ranks among them.
    """
    y = np.stack(list(oof.values()))
    q = np.percentile(y, np.arange(101), axis=0)
    payload = {
        "source": "embedded audio head, out-of-fold scores of the 1,189 PercePiano performances "
        "(oof_audio.json)",
        "dimensions": [d.name for d in DIMENSIONS],
        "quantiles": np.round(q, 5).tolist(),
    }
    path.write_text(json.dumps(payload) + "\n")


def ensure_folds(
    percepiano_dir: Path, keys: list[str], out_dir: Path, refold: bool = False
) -> dict[str, int]:
    path = out_dir / "folds.json"
    if path.is_file() and not refold:
        return load_folds(path)
    groups = music_groups(percepiano_dir, keys)
    folds = assign_folds(groups)
    save_folds(path, folds, groups)
    return folds


def save_oof(path: Path, oof: dict[str, np.ndarray]) -> None:
    payload = {
        "dimensions": [d.name for d in DIMENSIONS],
        "predictions": {k: [round(float(v), 6) for v in oof[k]] for k in sorted(oof)},
    }
    path.write_text(json.dumps(payload, indent=0) + "\n")


def load_oof(path: Path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in json.loads(path.read_text())["predictions"].items()}


@dataclass(frozen=True)
class _Copy:
    """Copies of every performance the audio head also trains on (a recording condition, another soundfont)."""

    table: FeatureTable
    weight: float
    audio_of: Callable[[str], np.ndarray]  # a performance's copy, to align its transcription to the score
    aligned_path: Path | None  # a saved table of that alignment


def _saved(path: Path | None) -> bool:
    return path is not None and path.is_file()


def _load_or_build(path: Path | None, build: Callable[[], FeatureTable]) -> FeatureTable:
    return FeatureTable.load(path) if path is not None and path.is_file() else build()


def _check_second_soundfont(
    second_soundfont: Path | None,
    *,
    score_timing: bool,
    table_path: Path | None,
    aligned_table_path: Path | None,
) -> None:
    """Fail before hours of rendering when the second soundfont is needed and missing."""
    # its renders are needed for its feature table and, with score timing, for aligning their transcriptions;
    # saved tables of both spare them
    if (
        second_soundfont is not None
        and not second_soundfont.is_file()
        and not (_saved(table_path) and (not score_timing or _saved(aligned_table_path)))
    ):
        raise ScorerConfigError(
            f"second training soundfont not found: {second_soundfont} (Debian package "
            "musescore-general-soundfont-lossless), or train with --no-second-soundfont"
        )


def _check_score_midis(percepiano_dir: Path, keys: list[str]) -> None:
    missing = [k for k in keys if not score_midi_path(percepiano_dir, k).is_file()]
    if missing:
        raise ScorerConfigError(
            f"{len(missing)} performances have no score MIDI (first: "
            f"{score_midi_path(percepiano_dir, missing[0]).name}); train with --no-score-timing"
        )


def _augmented_copy(
    config: ScorerConfig,
    keys: list[str],
    table_path: Path | None,
    aligned_path: Path | None,
    progress: Progress | None,
) -> _Copy:
    from scorer.training.heads import AUGMENTED_WEIGHT
    from scorer.training.tables import augmented_audio, build_augmented_table

    pdir, soundfont, cache = config.percepiano_dir, config.soundfont, config.cache_dir
    table = _load_or_build(
        table_path, lambda: build_augmented_table(pdir, keys, soundfont, cache, progress=progress)
    )
    return _Copy(table, AUGMENTED_WEIGHT, lambda k: augmented_audio(pdir, k, soundfont, cache), aligned_path)


def _second_soundfont_copy(
    config: ScorerConfig,
    keys: list[str],
    soundfont: Path,
    table_path: Path | None,
    aligned_path: Path | None,
    progress: Progress | None,
) -> _Copy:
    from scorer.inference.render import cached_render
    from scorer.training.heads import SECOND_SOUNDFONT_WEIGHT
    from scorer.training.tables import build_table

    pdir, cache = config.percepiano_dir, config.cache_dir
    table = _load_or_build(table_path, lambda: build_table(pdir, keys, soundfont, cache, progress=progress))
    return _Copy(
        table,
        SECOND_SOUNDFONT_WEIGHT,
        lambda k: cached_render(midi_path(pdir, k).read_bytes(), soundfont, cache),
        aligned_path,
    )


def _train_score_timing_heads(
    config: ScorerConfig,
    keys: list[str],
    table: FeatureTable,
    labels: dict[str, np.ndarray],
    folds: dict[str, int],
    copies: list[_Copy],
    aligned_table_path: Path | None,
    out_dir: Path,
    progress: Progress | None,
) -> dict:
    """The score-aware timing heads: like their base heads, the audio one with the copies, MIDI without."""
    from scorer.dimensions import BY_NAME
    from scorer.inference.model import SCORE_TIMING_HEADS, TIMING_DIMENSION
    from scorer.training.heads import train_head
    from scorer.training.tables import build_aligned_copy_table, build_aligned_table, with_alignment

    pdir, cache = config.percepiano_dir, config.cache_dir
    aligned = _load_or_build(
        aligned_table_path,
        lambda: build_aligned_table(pdir, keys, config.soundfont, cache, progress=progress),
    )
    scored = with_alignment(table, aligned)
    scored_copies = []
    for copy in copies:
        aligned_copy = _load_or_build(
            copy.aligned_path,
            partial(build_aligned_copy_table, pdir, copy.table, copy.audio_of, cache, progress=progress),
        )
        scored_copies.append((with_alignment(copy.table, aligned_copy), copy.weight))
    t = BY_NAME[TIMING_DIMENSION].index
    timing = {k: v[t : t + 1] for k, v in labels.items()}
    heads = {}
    for head in SCORE_TIMING_HEADS:
        res = train_head(
            scored,
            timing,
            folds,
            head,
            components=None,
            copies=scored_copies if SCORE_TIMING_HEADS[head] == "audio" else (),
        )
        heads[head] = res.head
        save_oof(out_dir / f"oof_{head}.json", res.oof)
    return heads


def train(
    config: ScorerConfig,
    out_dir: Path,
    *,
    refold: bool = False,
    table_path: Path | None = None,
    augmented_table_path: Path | None = None,
    augment: bool = True,
    second_soundfont: bool = True,
    second_soundfont_table_path: Path | None = None,
    score_timing: bool = True,
    aligned_table_path: Path | None = None,
    aligned_augmented_table_path: Path | None = None,
    aligned_second_soundfont_table_path: Path | None = None,
    progress: Progress | None = None,
) -> dict:
    """Train on ``config.percepiano_dir`` rendered with ``config.soundfont`` (cache: ``config.cache_dir``).
    ``augment``: the audio head also trains on every performance under one random recording condition
    (scorer.training.augment); ``second_soundfont``: and on every performance rendered with
    ``config.second_soundfont``. Neither kind of copy enters the out-of-fold predictions (those stay on the clean
    renders). ``score_timing``: also the score-aware timing heads (every performance aligned to its score MIDI); the
    audio one also trains on the copies, their transcriptions aligned too (``aligned_*_table_path``: saved
    tables of those). ``progress``: called with a line now and then while tables are built."""
    from scorer.training.heads import train_head
    from scorer.training.tables import build_table

    pdir, soundfont = config.percepiano_dir, config.soundfont
    other_soundfont = config.second_soundfont if second_soundfont else None
    _check_second_soundfont(
        other_soundfont,
        score_timing=score_timing,
        table_path=second_soundfont_table_path,
        aligned_table_path=aligned_second_soundfont_table_path,
    )
    align_anything = score_timing and not (
        _saved(aligned_table_path)
        and (not augment or _saved(aligned_augmented_table_path))
        and (other_soundfont is None or _saved(aligned_second_soundfont_table_path))
    )
    t0 = time.time()
    labels = load_labels(pdir)
    keys = list(labels)
    if align_anything:
        _check_score_midis(pdir, keys)
    out_dir.mkdir(parents=True, exist_ok=True)
    folds = ensure_folds(pdir, keys, out_dir, refold)
    table = _load_or_build(
        table_path, lambda: build_table(pdir, keys, soundfont, config.cache_dir, progress=progress)
    )
    augmented = (
        _augmented_copy(config, keys, augmented_table_path, aligned_augmented_table_path, progress)
        if augment
        else None
    )
    other = (
        None
        if other_soundfont is None
        else _second_soundfont_copy(
            config,
            keys,
            other_soundfont,
            second_soundfont_table_path,
            aligned_second_soundfont_table_path,
            progress,
        )
    )
    sources = [c for c in (augmented, other) if c is not None]
    copies = [(c.table, c.weight) for c in sources]
    heads = {}
    oofs = {}
    for head in HEADS:
        res = train_head(table, labels, folds, head, copies=copies if head == "audio" else ())
        heads[head], oofs[head] = res.head, res.oof
        save_oof(out_dir / f"oof_{head}.json", res.oof)
    if score_timing:
        heads.update(
            _train_score_timing_heads(
                config, keys, table, labels, folds, sources, aligned_table_path, out_dir, progress
            )
        )
    perf = train_head(table, labels, performer_folds(keys), "audio", copies=copies)
    save_oof(out_dir / "oof_audio_performer.json", perf.oof)
    meta = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "soundfont": soundfont.name,
        "n_performances": len(keys),
        "n_windows": len(table.keys),
        "n_augmented_windows": len(augmented.table.keys) if augmented is not None else 0,
        "second_soundfont": other_soundfont.name if other_soundfont is not None else None,
        "python": platform.python_version(),
    }
    EmbeddedModel(heads, meta).save(out_dir / "model.npz")
    write_reference(oofs["audio"])
    write_example_snapshot(config, out_dir)
    return {"seconds": round(time.time() - t0, 1), **meta}


def write_example_snapshot(config: ScorerConfig, out_dir: Path) -> None:
    """What the fresh weights say about PercePiano's example file (a test checks the shipped model
    still says it)."""
    from scorer.inference.embedded import EmbeddedBackend
    from scorer.inference.service import Scorer

    example = config.percepiano_dir / "examples" / "Beethoven_WoO80_var27_8bars_3_15.wav"
    scorer = Scorer(config, EmbeddedBackend(out_dir / "model.npz"))
    report = scorer.score_path(example)
    payload = {"file": example.name, "scores": {d.name: d.score for d in report.dimensions}}
    (out_dir / "example_scores.json").write_text(json.dumps(payload, indent=1) + "\n")


def evaluate(percepiano_dir: Path, out_dir: Path, *, command: str, n_boot: int = 1000) -> dict:
    """Metrics from the committed OOF files + labels; writes the model card (JSON, Markdown, PNG)."""
    labels = load_labels(percepiano_dir)
    folds = load_folds(out_dir / "folds.json")
    keys = sorted(labels)
    y = np.stack([labels[k] for k in keys])
    passages = [parse_key(k).passage for k in keys]
    # mean predictor: each fold predicts the mean label of the other folds
    fold_arr = np.array([folds[k] for k in keys])
    base = np.zeros_like(y)
    for f in np.unique(fold_arr):
        base[fold_arr == f] = y[fold_arr != f].mean(0)
    card: dict = {
        "command": command,
        "dimensions": [d.name for d in DIMENSIONS],
        "folds": "folds.json (4 folds grouped by music; no recording in two folds)",
        "results": {},
    }
    card["results"]["mean_baseline"] = report(y, base, passages, n_boot=n_boot)
    for name in ("audio", "midi", "audio_performer"):
        path = out_dir / f"oof_{name}.json"
        if not path.is_file():
            continue
        oof = load_oof(path)
        p = np.stack([oof[k] for k in keys])
        card["results"][name] = report(y, p, passages, n_boot=n_boot)
    card["score_timing"] = score_timing_results(y, keys, passages, out_dir, n_boot=n_boot)
    (out_dir / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    (out_dir / "model_card.md").write_text(card_markdown(card))
    _plot(card, out_dir / "model_card.png")
    return card


def score_timing_results(
    y: np.ndarray, keys: list[str], passages: list[str], out_dir: Path, *, n_boot: int
) -> dict:
    """Timing stability from the score-aware heads' OOF predictions, beside their base heads' (same folds)."""
    from scorer.dimensions import BY_NAME
    from scorer.inference.model import SCORE_TIMING_HEADS, TIMING_DIMENSION

    t = BY_NAME[TIMING_DIMENSION].index
    out = {}
    for name, base in SCORE_TIMING_HEADS.items():
        paths = out_dir / f"oof_{name}.json", out_dir / f"oof_{base}.json"
        if not all(p.is_file() for p in paths):
            continue
        with_score, without = (load_oof(p) for p in paths)
        out[name] = {
            "dimension": TIMING_DIMENSION,
            "base_head": base,
            "with_score": report(
                y[:, t : t + 1], np.stack([with_score[k] for k in keys]), passages, n_boot=n_boot
            ),
            "base": report(
                y[:, t : t + 1], np.stack([without[k][t : t + 1] for k in keys]), passages, n_boot=n_boot
            ),
        }
    return out


def card_markdown(card: dict) -> str:
    res = card["results"]
    lines = [
        "# Cadenza embedded scorer: model card",
        "",
        f"Produced by: `{card['command']}`",
        "",
        "Training data: PercePiano (1,189 rated segments), MIDI rendered with fluidsynth + FluidR3_GM "
        "(all metrics are on those renders); the audio head also trains on copies under random recording "
        "conditions and rendered with MuseScore General.",
        "Evaluation: out-of-fold predictions, 4 folds grouped by music (folds.json); "
        "`audio_performer` uses performer-grouped folds instead.",
        "",
        "| model | pooled R² [95% CI] | within-passage R² [95% CI] | MAE | pairwise acc. |",
        "|---|---|---|---|---|",
    ]
    for name, r in res.items():
        ci = r["ci95"]
        lines.append(
            f"| {name} | {r['r2_pooled']:.3f} [{ci['r2_pooled'][0]:.3f}, {ci['r2_pooled'][1]:.3f}] | "
            f"{r['r2_within_passage']:.3f} [{ci['r2_within_passage'][0]:.3f}, {ci['r2_within_passage'][1]:.3f}] | "
            f"{r['mae']:.4f} | {r['pairwise_accuracy']:.3f} |"
        )
    lines += [
        "",
        "Per dimension (R² pooled / within-passage / pairwise accuracy):",
        "",
        "| dimension | " + " | ".join(n for n in res if n != "mean_baseline") + " |",
        "|---|" + "---|" * (len(res) - 1),
    ]
    for i, d in enumerate(card["dimensions"]):
        cells = [
            f"{r['per_dimension']['r2'][i]:.2f} / {r['per_dimension']['r2_within_passage'][i]:.2f} / "
            f"{r['per_dimension']['pairwise_accuracy'][i]:.2f}"
            for n, r in res.items()
            if n != "mean_baseline"
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    if card.get("score_timing"):
        lines += [
            "",
            "Timing stability given the score (score-aware timing heads; OOF, same folds; "
            "pooled R² [95% CI] / within-passage R² / pairwise accuracy):",
            "",
            "| head | with the score | base head, no score |",
            "|---|---|---|",
        ]
        for name, r in card["score_timing"].items():
            cells = [
                f"{m['r2_pooled']:.3f} [{m['ci95']['r2_pooled'][0]:.3f}, {m['ci95']['r2_pooled'][1]:.3f}] / "
                f"{m['r2_within_passage']:.3f} / {m['pairwise_accuracy']:.3f}"
                for m in (r["with_score"], r["base"])
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot(card: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in card["results"] if n != "mean_baseline"]
    dims = card["dimensions"]
    fig, ax = plt.subplots(figsize=(10, 6))
    x = np.arange(len(dims))
    width = 0.8 / max(len(names), 1)
    for j, n in enumerate(names):
        ax.barh(
            x + j * width, card["results"][n]["per_dimension"]["r2"], height=width, label=f"{n} pooled R²"
        )
    ax.set_yticks(x + width * (len(names) - 1) / 2)
    ax.set_yticklabels(dims, fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("out-of-fold R²")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
