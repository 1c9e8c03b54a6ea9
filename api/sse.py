"""Server-sent events from the feedback job's event iterators (rag/job.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse


def wants_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def event_payload(event: Any) -> tuple[str, dict[str, Any]]:
    """(event name, JSON data) for one FeedbackEvent."""
    data = event.model_dump(mode="json") if hasattr(event, "model_dump") else dict(event)
    name = str(data.get("type") or data.get("event") or "message")
    return name, data


def event_stream(events: Iterator[Any], *, on_done: Callable[[dict[str, Any]], dict[str, Any]]) -> EventSourceResponse:
    """Relay ``events``; the ``done`` event's data passes through ``on_done`` (which stores the result
    and may add ids) before it is sent. The iterator is synchronous: sse-starlette runs it in a thread."""

    def frames() -> Iterator[dict[str, str]]:
        for event in events:
            name, data = event_payload(event)
            if name == "done":
                data = on_done(data)
            yield {"event": name, "data": json.dumps(data)}

    return EventSourceResponse(frames(), ping=15)
