"""A fault-injecting stand-in for an OpenAI-compatible LLM server, on loopback.

Only for injecting faults the real servers cannot be made to produce on demand: slowness beyond the
timeout, HTTP 500, answers without (valid) citations. Speaks enough of the chat-completions protocol
(plain JSON and SSE streaming) for litellm's `openai/` provider."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | slow | error | error_once | no_citations | invalid_citations | stream_break | slow_stream
        self.answer = (
            "Lift the pedal at every change of harmony in bars 5-7 [1]. Count the beats steadily [2]."
        )
        self.requests: list[dict] = []
        # slow_stream: the answer repeated, a word every `word_delay_s` (like a CPU model); whether the client
        # closed the connection before the end, and when
        self.word_delay_s = 0.1
        self.slow_repeats = 40
        self.stream_started = threading.Event()
        self.client_closed = threading.Event()
        self.closed_at: float | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.api_base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    """A request handler answering as ``standin``'s mode says."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._json(200, {"object": "list", "data": [{"id": "standin", "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            standin.requests.append(body)
            mode = standin.mode
            if mode == "slow":
                time.sleep(3.0)
            if mode == "error" or (mode == "error_once" and len(standin.requests) == 1):
                return self._json(500, {"error": {"message": "injected failure", "type": "server_error"}})
            text = {
                "no_citations": "Play more musically and listen to yourself.",
                "invalid_citations": "Use the pedal less [7]. Practise slowly [12].",
            }.get(mode, standin.answer)
            if mode == "slow_stream":
                text = " ".join([text] * standin.slow_repeats)
                if body.get("stream"):
                    return self._slow_stream(text, standin.word_delay_s)
                if not self._wait_unless_closed(len(text.split(" ")) * standin.word_delay_s):
                    return None
            if body.get("stream"):
                return self._stream(text, broken=mode == "stream_break")
            self._json(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
            )

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _wait_unless_closed(self, seconds: float) -> bool:
            """Take ``seconds`` to "generate" a plain answer; False (and recorded) if the client closes meanwhile."""
            standin.stream_started.set()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    standin.closed_at = time.monotonic()
                    standin.client_closed.set()
                    return False
            return True

        def _slow_stream(self, text: str, delay_s: float) -> None:
            """Stream word by word, slowly; record a client that closes the connection before the end."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            standin.stream_started.set()
            try:
                for word in text.split(" "):
                    chunk = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "standin",
                        "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(delay_s)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except OSError:  # BrokenPipe / ConnectionReset: the client went away mid-answer
                standin.closed_at = time.monotonic()
                standin.client_closed.set()

        def _stream(self, text: str, *, broken: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            words = text.split(" ")
            for i, word in enumerate(words):
                if broken and i == 3:
                    self.wfile.flush()
                    self.connection.shutdown(2)  # drop the connection mid-answer
                    return
                delta = {"content": word + ("" if i == len(words) - 1 else " ")}
                chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "standin",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            end = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "standin",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    return Handler
