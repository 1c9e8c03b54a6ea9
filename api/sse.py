"""Server-sent events from the feedback job's event iterators (rag/job.py), and generation that stops when the
client leaves: the route's cancel token is set (the LLM call closes its stream, so the LLM server stops) and
the generation's slot (api/generations.py) is released once the generation has actually stopped."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from fastapi import Request
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from api.generations import GenerationSlot

T = TypeVar("T")
_END = object()
# How often a non-streaming generation checks whether its client is still there.
DISCONNECT_POLL_S = 0.25


def wants_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def event_payload(event: Any) -> tuple[str, dict[str, Any]]:
    """(event name, JSON data) for one FeedbackEvent."""
    data = event.model_dump(mode="json") if hasattr(event, "model_dump") else dict(event)
    name = str(data.get("type") or data.get("event") or "message")
    return name, data


class _Relay:
    """A synchronous iterator stepped in worker threads, closed once the step in flight (if any) has returned."""

    def __init__(self, events: Iterator[Any]) -> None:
        self._events = events
        self._lock = threading.Lock()

    def step(self) -> Any:
        with self._lock:
            return next(self._events, _END)

    def close(self) -> None:
        with self._lock:  # the cancel token makes the step in flight short
            close = getattr(self._events, "close", None)
            if callable(close):
                close()


class _Stream(EventSourceResponse):
    """Calls ``on_close`` however the response ends: streamed to the end, client gone, or never started."""

    def __init__(self, content: AsyncIterator[dict[str, str]], on_close: Callable[[], None]) -> None:
        super().__init__(content, ping=15)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def event_stream(
    events: Iterator[Any],
    *,
    on_done: Callable[[dict[str, Any]], dict[str, Any]],
    cancel: threading.Event | None = None,
    slot: GenerationSlot | None = None,
) -> EventSourceResponse:
    """Relay ``events``; the ``done`` event's data passes through ``on_done`` (which stores the result
    and may add ids) before it is sent. The iterator is synchronous: each step runs in a worker thread.
    When the stream ends or the client leaves, ``cancel`` is set and, once the iterator is closed (the
    generation has stopped), ``slot`` is released."""
    relay = _Relay(events)
    finished = threading.Event()

    def finish() -> None:
        if finished.is_set():
            return
        finished.set()
        if cancel is not None:
            cancel.set()

        def close() -> None:
            try:
                relay.close()
            finally:
                if slot is not None:
                    slot.release()

        # Not awaited: a step may still be waiting for the LLM's next chunk, which sees the token and stops.
        threading.Thread(target=close, name="cadenza-sse-close", daemon=True).start()

    async def frames() -> AsyncIterator[dict[str, str]]:
        try:
            # abandon_on_cancel: when the client leaves, the token is set now, not after the next LLM chunk
            while (event := await anyio.to_thread.run_sync(relay.step, abandon_on_cancel=True)) is not _END:
                name, data = event_payload(event)
                if name == "done":
                    data = await anyio.to_thread.run_sync(on_done, data)
                yield {"event": name, "data": json.dumps(data)}
        finally:
            finish()

    return _Stream(frames(), finish)


async def run_watching_disconnect(request: Request, cancel: threading.Event, work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; if the client disconnects meanwhile, ``cancel`` is set (the generation
    in ``work`` stops). For non-streaming answers, where the disconnect is visible to the server."""

    async def watch() -> None:
        while not cancel.is_set():
            if await request.is_disconnected():
                cancel.set()
                return
            await anyio.sleep(DISCONNECT_POLL_S)

    results: list[T] = []

    def captured() -> Exception | None:  # raised outside the task group, so not as an ExceptionGroup
        try:
            results.append(work())
        except Exception as err:  # noqa: BLE001 - re-raised below
            return err
        return None

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            error = await anyio.to_thread.run_sync(captured)
        finally:
            group.cancel_scope.cancel()
    if error is not None:
        raise error
    return results[0]
