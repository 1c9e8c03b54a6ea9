"""The one way Cadenza calls an LLM: litellm, with the config's model string, api_base, timeout, one retry,
temperature and max tokens. Embedded default: the local llama.cpp server (rag/generation/local_llm.py) reached as
``openai/<alias>``; production: ``hosted_vllm/meta-llama/Llama-3.3-70B-Instruct`` with ``api_base``."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# litellm fetches a model price list from the internet at import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from rag.generation.config import GenerationConfig  # noqa: E402
from rag.generation.errors import GenerationCancelled, LLMError, LLMTimeout  # noqa: E402

log = logging.getLogger(__name__)

Message = dict[str, str]
# Set by the caller when nobody wants the answer any more (its client left): the call stops at the next chunk.
Cancel = threading.Event


def check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled("generation cancelled: the client left")


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    latency_ms: float
    attempts: int


def _litellm():  # imported lazily: litellm takes ~1 s to import
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def model_name(config: GenerationConfig) -> str:
    """The model string Cadenza calls and reports: ``llm_model`` for a configured server; for the embedded one,
    the model it loads (so a response never names a model other than the one that wrote it)."""
    if config.llm_api_base:
        return config.llm_model
    from rag.generation.local_llm import model_alias

    return f"openai/{model_alias(config)}"


class LLMClient:
    def __init__(self, config: GenerationConfig) -> None:
        self.config = config

    @property
    def model(self) -> str:
        """The litellm model string; for the embedded server ``openai/<the loaded GGUF's name>``."""
        return model_name(self.config)

    def _api_base(self) -> str:
        if self.config.llm_api_base:
            return self.config.llm_api_base
        from rag.generation.local_llm import LocalLLMServer

        return LocalLLMServer.shared(self.config).api_base

    def _call(
        self,
        messages: Sequence[Message],
        *,
        stream: bool,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ):
        litellm = _litellm()
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        try:
            return litellm.completion(
                **extra,
                model=self.model,
                messages=list(messages),
                api_base=self._api_base(),
                api_key=self.config.llm_api_key,
                timeout=self.config.llm_timeout_s,
                temperature=self.config.llm_temperature,
                max_tokens=min(max_tokens, self.config.llm_max_tokens)
                if max_tokens
                else self.config.llm_max_tokens,
                stream=stream,
                num_retries=0,  # our own retry loop below, so that the count is the config's one
            )
        except Exception as err:  # noqa: BLE001 - every provider error becomes one of ours
            raise _wrap(err) from err

    def warm_up(self, messages: Sequence[Message]) -> None:
        """Have the embedded server load its model and evaluate ``messages`` (one token answered): llama.cpp
        keeps the last prompt's evaluation, so a request that starts with them skips that work. Never raises:
        a server that cannot start fails again, with its message, when feedback asks it."""
        if not self.config.embedded:
            return  # a configured server is warmed by whoever runs it
        try:
            self._call(messages, stream=False, max_tokens=1)
        except Exception as err:  # noqa: BLE001 - a warm-up is best effort
            log.warning("LLM warm-up failed: %s", getattr(err, "message", err))

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        cancel: Cancel | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        """``max_tokens`` lowers the config's cap for one call (never raises it). With ``cancel`` the answer is
        streamed (and joined), so that setting it stops the generation: the server sees the connection close."""
        started = time.perf_counter()
        last: LLMError | None = None
        for attempt in range(1, self.config.llm_retries + 2):
            check_cancel(cancel)
            try:
                if cancel is None:
                    response = self._call(
                        messages, stream=False, max_tokens=max_tokens, response_format=response_format
                    )
                    text = response.choices[0].message.content or ""
                else:
                    text = "".join(
                        self._deltas(messages, max_tokens, cancel, time.monotonic(), response_format)
                    )
                return Completion(text, self.model, (time.perf_counter() - started) * 1000, attempt)
            except LLMError as err:
                log.warning("LLM call %d failed: %s", attempt, err.message)
                last = err
        assert last is not None
        raise last

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        cancel: Cancel | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        """Token deltas. Retries only before the first token (a half-streamed answer is not replayed).
        The whole stream is bounded by the timeout too, not only each read. Setting ``cancel`` (or closing this
        iterator) closes the HTTP stream, which stops the server generating."""
        started = time.monotonic()
        for attempt in range(1, self.config.llm_retries + 2):
            check_cancel(cancel)
            yielded = False
            deltas = self._deltas(messages, max_tokens, cancel, started, response_format)
            try:
                for delta in deltas:
                    yielded = True
                    yield delta
                return
            except LLMError as err:
                if yielded or attempt > self.config.llm_retries:
                    raise
                log.warning("LLM stream %d failed before the first token: %s", attempt, err.message)
            finally:
                deltas.close()  # closed here, not when collected: the HTTP stream must go now

    def _deltas(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        cancel: Cancel | None,
        started: float,
        response_format: dict[str, Any] | None = None,
    ) -> Generator[str, None, None]:
        """One streamed call's non-empty deltas; the provider stream is closed however this ends."""
        response = self._call(messages, stream=True, max_tokens=max_tokens, response_format=response_format)
        try:
            for chunk in response:
                check_cancel(cancel)
                if time.monotonic() - started > self.config.llm_timeout_s:
                    raise LLMTimeout(f"LLM stream exceeded {self.config.llm_timeout_s:.0f} s")
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    yield delta
        except (GenerationCancelled, LLMError):
            raise
        except Exception as err:  # noqa: BLE001 - errors raised while iterating the provider stream
            raise _wrap(err) from err
        finally:
            close = getattr(response, "close", None)
            if callable(close):
                close()


def _wrap(err: Exception) -> LLMError:
    if isinstance(err, LLMError):
        return err
    name = type(err).__name__
    message = str(err).splitlines()[0][:300] if str(err) else name
    if "Timeout" in name or "timed out" in message.lower():
        return LLMTimeout(f"LLM timed out: {message}")
    return LLMError(f"LLM call failed ({name}): {message}")
