"""The service's tables (on the one ``corpus.db.Base``, so one Alembic history covers them all).

Ownership is by API key id (``owner``): a key is the identity of a student or an admin. ``owner`` is a
plain string, not a foreign key, so that the auth-off local principal and revoked keys keep their data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from corpus.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # sha256 hex of the token
    role: Mapped[str] = mapped_column(String(16))  # student | admin
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Performance(Base):
    __tablename__ = "performances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    title: Mapped[str | None] = mapped_column(String(300))
    composer: Mapped[str | None] = mapped_column(String(300))
    piece: Mapped[str | None] = mapped_column(String(300))
    level: Mapped[str | None] = mapped_column(String(100))
    bar_times: Mapped[list[float] | None] = mapped_column(JSON)  # bar start times (s) sent with the upload
    filename: Mapped[str | None] = mapped_column(String(300))  # the client's name, for display only
    audio_sha256: Mapped[str] = mapped_column(String(64), index=True)
    audio_path: Mapped[str] = mapped_column(String(200))  # relative to settings.home
    size_bytes: Mapped[int] = mapped_column(Integer)
    # an optional score MIDI sent with the recording: bar numbers and score-aware timing
    score_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    score_path: Mapped[str | None] = mapped_column(String(200))  # relative to settings.home
    score_filename: Mapped[str | None] = mapped_column(String(300))  # the client's name, for display only
    duration_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    jobs: Mapped[list[Job]] = relationship(
        back_populates="performance", cascade="all, delete-orphan", passive_deletes=True
    )
    feedback: Mapped[list[Feedback]] = relationship(
        back_populates="performance", cascade="all, delete-orphan", passive_deletes=True
    )


class Job(Base):
    """A scoring job. Survives restarts: queued jobs are picked up again, interrupted ones retried or failed."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    performance_id: Mapped[str] = mapped_column(ForeignKey("performances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="score")
    status: Mapped[str] = mapped_column(
        String(16), default="queued", index=True
    )  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    performance: Mapped[Performance] = relationship(back_populates="jobs")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    performance_id: Mapped[str] = mapped_column(ForeignKey("performances.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    generator: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    performance: Mapped[Performance] = relationship(back_populates="feedback")


class TutorSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    performance_id: Mapped[str | None] = mapped_column(ForeignKey("performances.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True, order_by="Message.seq"
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the assistant's FeedbackResult
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    session: Mapped[TutorSession] = relationship(back_populates="messages")
