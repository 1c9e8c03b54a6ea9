"""`cadenza score` and `cadenza scorer train|eval|robustness`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from scorer.config import ScorerConfig
from scorer.errors import RecordingError

scorer_app = typer.Typer(help="Train, evaluate and stress-test the scorer.", no_args_is_help=True)

BAR_WIDTH = 20


def _bar(value: float, width: int = BAR_WIDTH) -> str:
    n = int(round(max(0.0, min(1.0, value)) * width))
    return "█" * n + "·" * (width - n)


def format_report(report) -> str:  # report: ScoreReport
    from scorer.dimensions import BY_NAME

    out = [
        f"{report.source or 'recording'}: {report.duration_s:.1f} s, backend {report.backend}, "
        f"{len(report.windows)} window(s)"
    ]
    following = report.score_following
    if following is not None:
        out.append(
            f"score: followed ({following.matched_share:.0%} of the notes match it)"
            if following.followed
            else f"score: NOT followed (only {following.matched_share:.0%} of the notes match it): no bars or "
            "timing from it - is it the score of this recording?"
        )
    out.append("")
    out.append(f"{'dimension':24} {'low pole':>22} {'':{BAR_WIDTH}} {'high pole':22} score  ±unc   kind")
    for d in report.dimensions:
        dim = BY_NAME[d.name]
        marker = ""
        if dim.desirable:
            marker = f"quality (good: {dim.desirable})"
        else:
            marker = "character"
        out.append(
            f"{d.name:24} {dim.low_pole:>22} {_bar(d.score)} {dim.high_pole:22} {d.score:.2f}  "
            f"±{d.uncertainty:.2f}  {marker}"
        )
    out.append("")
    out.append("weak spots:" if report.weak_spots else "weak spots: none")
    for s in report.weak_spots:
        bars = f" bars {s.bars[0]}-{s.bars[-1]}" if s.bars else ""
        out.append(
            f"  {s.start_s:6.1f}-{s.end_s:6.1f} s{bars}  {s.dimension:22} severity {s.severity:.2f}  {s.reason}"
        )
    out.append("strengths:" if report.strengths else "strengths: none")
    for s in report.strengths:
        out.append(f"  {s.dimension:22} {s.reason}")
    out.extend(_format_notes(report))
    return "\n".join(out)


def _format_notes(report) -> list[str]:  # report: ScoreReport
    """Per-bar table and the note errors, when a score was given."""
    if report.bars is None:
        return []
    out = [""]
    following = report.score_following
    if following is not None and following.passes:
        passes = ", ".join(
            f"{p.start_s:.1f}-{p.end_s:.1f} s bars {p.first_bar}-{p.last_bar}" for p in following.passes
        )
        out.append(f"passes: {passes} ({following.restarts} restart(s))")
    if not report.bars:
        out.append("bars: none (the score was not followed)")
        return out
    multi = len({b.pass_ for b in report.bars}) > 1
    out.append(
        f"{'bar':>4}{' pass' if multi else ''} {'start s':>8} {'notes':>5} {'ok':>4} {'wrong':>5} {'miss':>5} "
        f"{'extra':>5} {'dev ms':>6} {'bpm':>6} {'tempo':>6} {'vel':>5}  flags"
    )
    for b in report.bars:

        def num(v: float | None, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)

        out.append(
            f"{b.bar:>4}{f' {b.pass_:>4}' if multi else ''} {b.start_s:>8.2f} {b.expected:>5} {b.matched:>4} "
            f"{b.wrong:>5} {b.missed:>5} {b.extra:>5} {num(b.onset_dev_ms, '6.0f'):>6} "
            f"{num(b.tempo_bpm, '6.1f'):>6} {num(b.tempo_ratio, '6.0%'):>6} {num(b.velocity_mean, '5.0f'):>5}  "
            f"{', '.join(b.flags)}"
        )
    errors = report.note_errors or []
    out.append("")
    out.append(f"note errors: {len(errors)}" if errors else "note errors: none")
    for e in errors:
        where = (
            f"bar {e.bar}, beat {e.beat:g}"
            if e.bar is not None and e.beat is not None
            else f"{e.time_s:.2f} s"
        )
        where += f" (pass {e.pass_})" if multi else ""
        out.append(f"  {where}: {e.what()}  [{e.time_s:.2f} s]")
    return out


def _parse_bars(text: str | None) -> list[float] | None:
    from scorer.inference.spots import parse_bar_times

    return parse_bar_times(text, "--bars")


def score(
    files: Annotated[list[Path], typer.Argument(help="Audio (WAV, FLAC, OGG, MP3) or MIDI files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the ScoreReport JSON.")] = False,
    bars: Annotated[str | None, typer.Option(help="Bar start times in seconds, comma-separated.")] = None,
    score_midi: Annotated[
        Path | None,
        typer.Option(
            "--score",
            help="The piece's score (MIDI, MusicXML .musicxml/.xml or compressed .mxl): aligned to each "
            "recording for wrong, missed and extra notes, a per-bar table, bar numbers of weak spots and "
            "timing against the notation.",
        ),
    ] = None,
) -> None:
    """Score recordings on the 19 PercePiano dimensions (model loaded once for all files)."""
    from api.settings import get_settings
    from scorer.inference.align import load_score
    from scorer.inference.service import Scorer

    bar_times = _parse_bars(bars)
    if bar_times and score_midi is not None:
        raise RecordingError("give --bars or --score, not both")
    notated = load_score(score_midi) if score_midi is not None else None
    scorer = Scorer.load(get_settings().scorer_config())
    reports = [scorer.score_path(f, bars=bar_times, score=notated, source_name=f.name) for f in files]
    if as_json:
        payload = [r.model_dump(mode="json") for r in reports]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=1))
    else:
        print("\n\n".join(format_report(r) for r in reports))


def _config(percepiano: Path | None = None, cache: Path | None = None) -> ScorerConfig:
    """The settings' scorer config, with the folders given on the command line."""
    from dataclasses import replace

    from api.settings import get_settings

    config = get_settings().scorer_config()
    return replace(
        config, percepiano_dir=percepiano or config.percepiano_dir, cache_dir=cache or config.cache_dir
    )


def _out_dir(out: Path | None) -> Path:
    from scorer.training.pipeline import DEFAULT_DIR

    return out or DEFAULT_DIR


def _print_progress(line: str) -> None:
    print(line, flush=True)


@scorer_app.command("train")
def train_cmd(
    percepiano: Annotated[Path | None, typer.Option(help="PercePiano folder (default: settings).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: scorer/models/embedded).")] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Render/feature cache (default: <home>/cache/scorer).")
    ] = None,
    refold: Annotated[bool, typer.Option(help="Recompute folds.json from the MIDI.")] = False,
    table: Annotated[Path | None, typer.Option(help="A saved feature table to reuse.")] = None,
    augmented_table: Annotated[
        Path | None, typer.Option(help="A saved augmented-audio feature table to reuse.")
    ] = None,
    augment: Annotated[
        bool, typer.Option(help="Also train the audio head on random recording conditions.")
    ] = True,
    second_soundfont: Annotated[
        bool,
        typer.Option(help="Also train the audio head on renders with the settings' scorer_second_soundfont."),
    ] = True,
    second_soundfont_table: Annotated[
        Path | None, typer.Option(help="A saved second-soundfont feature table to reuse.")
    ] = None,
    score_timing: Annotated[
        bool, typer.Option(help="Also train the score-aware timing heads (used when a score is given).")
    ] = True,
    aligned_table: Annotated[
        Path | None, typer.Option(help="A saved score-alignment feature table to reuse.")
    ] = None,
    aligned_augmented_table: Annotated[
        Path | None, typer.Option(help="A saved score-alignment table of the augmented copies to reuse.")
    ] = None,
    aligned_second_soundfont_table: Annotated[
        Path | None,
        typer.Option(help="A saved score-alignment table of the second-soundfont renders to reuse."),
    ] = None,
) -> None:
    """Render PercePiano, extract features, train the embedded heads with leak-free 4-fold CV."""
    from scorer.training.pipeline import train

    info = train(
        _config(percepiano, cache),
        _out_dir(out),
        refold=refold,
        table_path=table,
        augmented_table_path=augmented_table,
        augment=augment,
        second_soundfont=second_soundfont,
        second_soundfont_table_path=second_soundfont_table,
        score_timing=score_timing,
        aligned_table_path=aligned_table,
        aligned_augmented_table_path=aligned_augmented_table,
        aligned_second_soundfont_table_path=aligned_second_soundfont_table,
        progress=_print_progress,
    )
    print(json.dumps(info, indent=1))


@scorer_app.command("eval")
def eval_cmd(
    percepiano: Annotated[Path | None, typer.Option(help="PercePiano folder (default: settings).")] = None,
    out: Annotated[Path | None, typer.Option(help="Model folder (default: scorer/models/embedded).")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
) -> None:
    """Metrics from the committed out-of-fold predictions; writes the model card."""
    from scorer.training.pipeline import card_markdown, evaluate

    command = "cadenza scorer eval " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    card = evaluate(_config(percepiano).percepiano_dir, _out_dir(out), command=command.strip(), n_boot=n_boot)
    print(card_markdown(card))


@scorer_app.command("robustness")
def robustness_cmd(
    percepiano: Annotated[Path | None, typer.Option(help="PercePiano folder (default: settings).")] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Render/feature cache (default: <home>/cache/scorer).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Performances per suite (a deterministic subset).")] = 120,
    out: Annotated[Path | None, typer.Option(help="Where to write robustness.json.")] = None,
    score_timing: Annotated[
        bool, typer.Option(help="Also timing stability given each passage's score (score-aware timing head).")
    ] = True,
) -> None:
    """Degradations (timing jitter, velocity compression, wrong notes, pedal) and recording conditions."""
    from scorer.training.robustness import run_robustness

    result = run_robustness(_config(percepiano, cache), limit=limit, with_score=score_timing)
    (out or _out_dir(None) / "robustness.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `cadenza` app."""
    app.command("score")(score)
    app.add_typer(scorer_app, name="scorer")
