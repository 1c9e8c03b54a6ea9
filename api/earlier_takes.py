"""The student's earlier take of a piece, for the weak spots of a new one (issue 18).

A scale that got clearly worse since the student's last take of the same piece is worth naming even when it is
not bad by PercePiano's standards (``scorer.inference.spots.find_spots(earlier=...)``). The earlier take is the
same owner's most recent finished performance of the same piece, uploaded before this one: the same score file
(by content hash) when a score came with the recording, else the same non-empty piece name. Never another
owner's, never a guess: no match, no comparison.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db_models import Performance
from scorer.dimensions import DIMENSIONS

log = logging.getLogger("cadenza.api.earlier")


@dataclass(frozen=True)
class EarlierTake:
    performance_id: str
    scores: np.ndarray  # overall score per dimension, DIMENSIONS order


def overall_scores(report: dict) -> np.ndarray:
    """The overall dimension scores of a stored ScoreReport (JSON), in DIMENSIONS order; ValueError when a
    dimension is missing or not a finite number (a report of an older or broken scorer)."""
    by_name = {d.get("name"): d.get("score") for d in report.get("dimensions") or [] if isinstance(d, dict)}
    values = []
    for dim in DIMENSIONS:
        value = by_name.get(dim.name)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"dimension {dim.name!r} missing or not a number")
        values.append(float(value))
    return np.asarray(values, dtype=float)


def _piece(value: str | None) -> str:
    return (value or "").strip().lower()


def find_earlier_take(session: Session, performance: Performance) -> EarlierTake | None:
    """The owner's most recent finished take of the same piece before ``performance``, or None (no score
    and no piece name, no match, or its report unreadable: logged, never an error)."""
    query = select(Performance).where(
        Performance.owner == performance.owner,
        Performance.id != performance.id,
        Performance.status == "done",
        Performance.created_at < performance.created_at,
    )
    if performance.score_sha256:
        query = query.where(Performance.score_sha256 == performance.score_sha256)
    elif _piece(performance.piece):
        # same piece name, ignoring case and surrounding spaces (the field is typed by hand)
        query = query.where(func.lower(func.trim(Performance.piece)) == _piece(performance.piece))
    else:
        return None
    query = query.order_by(Performance.created_at.desc(), Performance.id.desc()).limit(5)
    for row in session.scalars(query):  # the newest readable one (a JSON null report counts as unreadable)
        try:
            return EarlierTake(row.id, overall_scores(dict(row.report or {})))
        except (ValueError, TypeError, AttributeError) as err:
            log.warning(
                "earlier take %s of performance %s unreadable (%s); skipped", row.id, performance.id, err
            )
    return None
