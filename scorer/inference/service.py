"""The scorer service: a recording in, a ScoreReport out (the contract in scorer/schema.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from scorer.config import ScorerConfig
from scorer.dimensions import DIMENSIONS
from scorer.errors import ScorerConfigError
from scorer.inference.align import AlignmentTooLong, NotatedScore, ScoreAlignment, align, bar_starts
from scorer.inference.decode import Decoded, decode, probe
from scorer.inference.features import FEATURE_SR, Notes
from scorer.inference.levels import audible
from scorer.inference.note_evidence import Posteriorgram
from scorer.inference.signal_spots import Evidence, merge_signal_spots, signal_spots
from scorer.inference.spots import Reference, find_spots
from scorer.inference.windows import aggregate, centre_weights, window_spans
from scorer.schema import BarReport, DimensionScore, NoteError, ScoreFollowing, ScoreReport, WindowScores

if TYPE_CHECKING:
    from scorer.inference.transcribe import NoteTranscriber, Transcriber, TranscriberName

log = logging.getLogger(__name__)
REFERENCE_FILE = Path(__file__).resolve().parents[1] / "models" / "reference.json"


class Backend(Protocol):
    name: str

    def predict_windows(
        self,
        decoded: Decoded,
        spans: Sequence[tuple[float, float]],
        *,
        transcription: Notes | None = None,
        aligned: ScoreAlignment | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def load_reference(path: Path = REFERENCE_FILE) -> Reference:
    """PercePiano label quantiles (committed; computed from the labels by `cadenza scorer train`)."""
    if not path.is_file():
        raise ScorerConfigError(f"scorer reference distribution missing: {path}")
    return Reference(np.asarray(json.loads(path.read_text())["quantiles"]))


def probe_recording(path: Path, config: ScorerConfig, *, name: str | None = None) -> float:
    """Fast validation for uploads: the duration in seconds, or RecordingError with one line that calls the
    file ``name`` (default: its file name)."""
    return probe(Path(path), config.max_duration_s, name=name)


class Scorer:
    def __init__(self, config: ScorerConfig, backend: Backend) -> None:
        self.config = config
        self._backend = backend
        self.backend = backend.name
        self.reference = load_reference()
        self._notes_transcriber: NoteTranscriber | None = None  # transkun, once loaded

    @classmethod
    def load(cls, config: ScorerConfig) -> Scorer:
        """Load the configured backend once (weights from disk, never from the network)."""
        if config.backend == "muq":
            from scorer.inference.muq_backend import MuqBackend

            return cls(config, MuqBackend.from_config(config))
        from scorer.inference.embedded import EmbeddedBackend

        return cls(config, EmbeddedBackend(config.weights, threads=config.threads))

    def score_path(
        self,
        path: Path,
        *,
        bars: Sequence[float] | None = None,
        score: NotatedScore | None = None,
        source_name: str | None = None,
        score_optional: bool = False,
        earlier: np.ndarray | None = None,
    ) -> ScoreReport:
        path = Path(path)
        decoded = decode(
            path,
            max_duration_s=self.config.max_duration_s,
            soundfont=self.config.soundfont,
            cache_dir=None,
            name=source_name,
        )
        return self.score_decoded(
            decoded,
            bars=bars,
            score=score,
            source_name=source_name or path.name,
            score_optional=score_optional,
            earlier=earlier,
        )

    def _basic_pitch_transcriber(self) -> Transcriber:
        """basic-pitch: the embedded backend's own when it has one (so its notes are made once), else a new one."""
        from scorer.inference.transcribe import Transcriber

        own = getattr(self._backend, "transcriber", None)
        return own() if callable(own) else Transcriber(self.config.threads)

    def notes_transcriber_for(self, duration_s: float) -> TranscriberName:
        """Which transcriber makes the note path's notes of an audio take this long: ``config.transcriber``,
        where ``auto`` is transkun (note-error F1 0.93 vs 0.63 on clean renders) for a take of at most
        ``config.accurate_max_s`` seconds and basic-pitch for a longer one (transkun needs ~0.2-0.3 s per
        second of audio on 2 cores: a 5-minute take would miss the 60-s analysis goal;
        eval/results/transcription.md)."""
        if self.config.transcriber == "auto":
            return "transkun" if duration_s <= self.config.accurate_max_s else "basic-pitch"
        return self.config.transcriber

    def _note_transcriber(self, name: TranscriberName) -> NoteTranscriber:
        """The note path's transcriber: basic-pitch (``_basic_pitch_transcriber``) or transkun (loaded once,
        kept)."""
        from scorer.inference.transcribe import load_transcriber

        if name == "basic-pitch":
            return self._basic_pitch_transcriber()
        if self._notes_transcriber is None:
            self._notes_transcriber = load_transcriber(name, self.config.threads)
        return self._notes_transcriber

    def _owns_transcriber(self) -> bool:
        """Does the backend transcribe with basic-pitch itself (the embedded one)? Then the service can make
        those notes for it at no extra cost."""
        return callable(getattr(self._backend, "transcriber", None))

    @staticmethod
    def _audio_rules(name: TranscriberName) -> bool:
        """Assess a transcription with the audio rules (forgiving soft missed notes, overtones, wide
        substitutions)? Not with transkun: near-MIDI quality, its notes are judged like a MIDI file's
        (note-error F1 0.94 with the MIDI rules vs 0.60 with the audio rules on 2 CHECK performances,
        eval/results/notes_benchmark.md)."""
        return name != "transkun"

    def _basic_pitch(self, decoded: Decoded) -> tuple[Notes, Posteriorgram]:
        """basic-pitch's notes of an audio input and the posteriors they were read from."""
        return self._basic_pitch_transcriber().transcribe_with_evidence(decoded.audio, FEATURE_SR)

    def score_decoded(
        self,
        decoded: Decoded,
        *,
        bars: Sequence[float] | None = None,
        score: NotatedScore | None = None,
        source_name: str | None = None,
        score_optional: bool = False,
        earlier: np.ndarray | None = None,
    ) -> ScoreReport:
        """``bars`` (bar start times) or ``score`` (the notated score, aligned to find them) give weak spots
        bar numbers; explicit bar times win. A ``score`` also lets the backend judge timing stability against
        the notation (the embedded backend's score-aware timing head). ``score_optional``: a recording too
        long to align with its score is scored without it (else AlignmentTooLong). ``earlier``: the overall
        scores (DIMENSIONS order) of the student's earlier take of the same passage: a scale clearly worse since
        then is a weak spot sooner, and its reason says so (``find_spots``)."""
        spans = window_spans(decoded.duration_s)
        # audio: basic-pitch's notes and posteriors, made once for everything that reads them
        transcription: Notes | None = None
        evidence: Posteriorgram | None = None
        notes_from = self.notes_transcriber_for(decoded.duration_s)
        basic_pitch_notes_path = score is not None and notes_from == "basic-pitch"
        if decoded.notes is None and (self._owns_transcriber() or score is not None):
            # the embedded heads were trained on basic-pitch notes; the measured weak spots read its
            # posteriors; with a score they check the note path's claims, whichever transcriber made them
            transcription, evidence = self._basic_pitch(decoded)
        aligned = None
        if score is not None:
            played = decoded.notes
            if played is None and basic_pitch_notes_path:
                played = transcription
            if played is None:  # audio: the note path's own transcriber
                played = self._note_transcriber(notes_from).transcribe(decoded.audio, FEATURE_SR)
            if decoded.notes is None:  # notes "heard" in a render's tail or the noise floor follow no score
                played = audible(played, decoded.audio, FEATURE_SR)
            try:
                aligned = ScoreAlignment(score.notes, played, align(played, score.notes))
            except AlignmentTooLong:
                if not score_optional:
                    raise
                log.info("recording and score too long to align; scored without the score")
            # only a followed score numbers bars: another piece's would number them at random
            if aligned is not None and not bars and aligned.usable:
                bars = bar_starts(played, score, aligned.alignment) or None
        scores, unc, rmse = self._backend.predict_windows(
            decoded, spans, transcription=transcription, aligned=aligned
        )
        weights = centre_weights(spans, decoded.duration_s)
        overall = aggregate(scores, weights)
        overall_unc = aggregate(unc, weights)
        dims = []
        for d in DIMENSIONS:
            s = float(overall[d.index])
            good = d.goodness(s)
            dims.append(
                DimensionScore(
                    name=d.name,
                    label=d.label,
                    group=d.group,
                    kind=d.kind,
                    score=round(s, 4),
                    uncertainty=round(float(overall_unc[d.index]), 4),
                    goodness=None if good is None else round(float(good), 4),
                    percentile=round(self.reference.percentile(d.index, s), 1),
                )
            )
        windows = [
            WindowScores(
                start_s=round(a, 2),
                end_s=round(b, 2),
                scores={d.name: round(float(scores[i, d.index]), 4) for d in DIMENSIONS},
            )
            for i, (a, b) in enumerate(spans)
        ]
        weak, strong = find_spots(
            spans,
            scores,
            overall,
            rmse,
            self.reference,
            top_n=self.config.top_n,
            bar_times=bars,
            earlier=earlier,
        )
        following = (
            None
            if aligned is None
            else ScoreFollowing(
                matched_share=round(aligned.matched_share, 3),
                followed=aligned.usable,
                notes_from="midi" if decoded.notes is not None else notes_from,
            )
        )
        note_errors: list[NoteError] | None = None
        bar_reports: list[BarReport] | None = None
        maps: list[tuple[np.ndarray, np.ndarray]] = []
        spread: tuple[np.ndarray, np.ndarray] | None = None
        top_voice: tuple[np.ndarray, np.ndarray] | None = None
        if score is not None and aligned is not None and following is not None:
            # note level (issue 17): wrong / missed / extra notes and bars, per pass through the score
            from scorer.inference.note_assessment import assess, covered_time_map
            from scorer.inference.note_spots import merge_spots, note_spots
            from scorer.inference.signal_spots import notated_chord_spreads, notated_top_voice

            result = assess(
                aligned.played,
                score,
                self.config.notes,
                transcribed=decoded.notes is None and self._audio_rules(notes_from),
                # basic-pitch's posteriors: they check its own claims (audio rules) or transkun's missed notes
                evidence=evidence,
            )
            note_errors, bar_reports = [], []
            if result.followed:
                note_errors, bar_reports = result.note_errors, result.bars
                maps = covered_time_map(result)
                # per pass: the first-stage alignment is one monotone pass, so a take played twice through
                # (a repeat, a restart) would read as half matched
                following.matched_share = result.matched_share
                following.bars_covered = result.bars_covered
                following.passes = result.passes
                following.restarts = result.restarts
                weak = merge_spots(weak, note_spots(result.bars), self.config.top_n)
                spread = notated_chord_spreads(result)
                if evidence is not None and decoded.notes is None:
                    top_voice = notated_top_voice(result, evidence)
        # measured evidence (issue 18): pedal blur, flat dynamics, balance, chords not together
        weak = merge_signal_spots(
            weak,
            signal_spots(
                spans,
                notes=decoded.notes,
                posteriors=evidence if decoded.notes is None else None,
                audio=(decoded.audio, FEATURE_SR, transcription)
                if decoded.notes is None and transcription is not None
                else None,
                chord_spread=spread,
                top_voice=top_voice,
                bar_reports=bar_reports,
                bar_times=bars,
            ),
            # a perceptual spot that an exact, clearly normal measure contradicts is dropped
            Evidence(notes=decoded.notes, chord_spread=spread, bar_reports=bar_reports),
            top_n=self.config.top_n,
        )
        from scorer.inference.curves import curves

        curve = curves(decoded.audio, FEATURE_SR, score if maps else None, maps)
        return ScoreReport(
            duration_s=round(decoded.duration_s, 3),
            backend=self.backend,
            dimensions=dims,
            windows=windows,
            weak_spots=weak,
            strengths=strong,
            source=source_name,
            score_following=following,
            note_errors=note_errors,
            bars=bar_reports,
            curves=curve,
        )
