"""Robustness of the score reader (scorer/inference/score_files.py) and the loader behind it: seeded mutations
of a MusicXML score, a score MIDI and an .mxl (bytes changed, files cut) must each end as a ScoreFile or a
RecordingError (an HTTP 4xx / CLI exit 2), never another exception (a 500 / a traceback). Also times the
refusal of the committed attack files and the server's WAV render of a MIDI upload (GET .../audio).

    .venv/bin/python -m eval.fuzz_score_files [--n 3000] [--seed 1] [--load 300]

Prints one JSON object; exit status 1 if any other exception escaped.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import random
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERCEPIANO = REPO.parent / "shared" / "data" / "percepiano"
SCORE_MIDI = PERCEPIANO / "score_midi" / "Beethoven_WoO80_var8_8bars_Score_6.mid"
PERFORMANCE_MIDI = PERCEPIANO / "performance_midi" / "Beethoven_WoO80_var8_8bars_2_6.mid"
BAD = REPO / "tests" / "data" / "bad_scores"


def _seeds(tmp: Path) -> list[bytes]:
    import partitura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = tmp / "score.musicxml"
        partitura.save_musicxml(partitura.load_score_midi(str(SCORE_MIDI)), str(out))
    xml = out.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "META-INF/container.xml",
            '<container><rootfiles><rootfile full-path="a.musicxml"/></rootfiles></container>',
        )
        archive.writestr("a.musicxml", xml)
    return [xml[:6000], SCORE_MIDI.read_bytes(), buffer.getvalue()]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    if rng.random() < 0.3:
        return bytes(out[: rng.randrange(len(out))])
    for _ in range(rng.randint(1, 20)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="mutations read by read_score_bytes")
    parser.add_argument("--load", type=int, default=300, help="mutations also given to align.load_score")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from scorer.errors import RecordingError
    from scorer.inference.align import load_score
    from scorer.inference.score_files import read_score_bytes, read_score_file

    rng = random.Random(args.seed)
    result: dict = {"command": " ".join(["python -m eval.fuzz_score_files", *(argv or sys.argv[1:])])}
    escaped: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seeds = _seeds(tmp)
        passed: list[bytes] = []
        for _ in range(args.n):
            data = _mutate(rng, rng.choice(seeds))
            try:
                read_score_bytes(data, "mutated")
                outcomes["accepted"] += 1
                passed.append(data)
            except RecordingError as err:
                outcomes[type(err).__name__] += 1
            except Exception as err:  # what this run looks for
                escaped[f"{type(err).__name__}: {str(err)[:80]}"] += 1
        result["reader"] = {"mutations": args.n, "outcomes": dict(outcomes), "escaped": dict(escaped)}

        load_escaped: collections.Counter[str] = collections.Counter()
        load_outcomes: collections.Counter[str] = collections.Counter()
        extra = [_mutate(rng, rng.choice(seeds)) for _ in range(args.load)]
        for i, data in enumerate(passed + extra):
            path = tmp / f"m{i}"
            path.write_bytes(data)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load_score(path, "mutated")
                load_outcomes["loaded"] += 1
            except RecordingError:
                load_outcomes["refused"] += 1
            except Exception as err:
                load_escaped[f"{type(err).__name__}: {str(err)[:80]}"] += 1
        result["loader"] = {
            "files": len(passed) + len(extra),
            "outcomes": dict(load_outcomes),
            "escaped": dict(load_escaped),
        }

    timings = {}
    for name in ("billion_laughs.musicxml", "external_entity.musicxml", "zip_bomb.mxl"):
        start = time.perf_counter()
        try:
            read_score_file(BAD / name)
        except RecordingError as err:
            timings[name] = {
                "refused_in_ms": round(1000 * (time.perf_counter() - start), 2),
                "as": type(err).__name__,
            }
    result["attacks"] = timings

    from api.settings import Settings
    from scorer.inference.features import FEATURE_SR
    from scorer.inference.render import render_midi_bytes

    soundfont = Settings().scorer_config().soundfont
    data = PERFORMANCE_MIDI.read_bytes()
    start = time.perf_counter()
    audio = render_midi_bytes(data, soundfont, sr=FEATURE_SR)
    result["render"] = {
        "midi": PERFORMANCE_MIDI.name,
        "audio_s": round(len(audio) / FEATURE_SR, 2),
        "render_s": round(time.perf_counter() - start, 2),
    }
    print(json.dumps(result, indent=1))
    return 1 if escaped or load_escaped else 0


if __name__ == "__main__":
    sys.exit(main())
