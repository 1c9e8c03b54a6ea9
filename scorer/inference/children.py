"""Child processes that die with Cadenza: a ``preexec_fn`` that sets Linux's parent-death signal.

The signal follows the *thread* that spawned the child, so use it from a thread that lives as long as the
child is wanted: one that waits for a short-lived child (fluidsynth), or a launcher thread that lives as
long as the process (the llama.cpp server, rag/generation/local_llm.py)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Callable[..., int] | None:
    """libc's prctl, resolved before any fork (a forked child must not load libraries); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()


def die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGKILL the child when the thread that spawned it exits; exit at once if the
    parent (pid ``parent``) already died between fork and prctl."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec
