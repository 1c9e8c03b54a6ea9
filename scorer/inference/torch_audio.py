"""A tiny pure-torch stand-in for the few torchaudio functions MuQ and transkun use.

torchaudio's compiled parts do not load beside torch 2.13. MuQ imports it only for
``transforms.MelSpectrogram`` and ``transforms.AmplitudeToDB``; transkun only for
``functional.melscale_fbanks`` (when its model is built). These re-implement torchaudio's defaults
(Hann window, centre reflect padding, power 2, HTK mel scale without norm, dB with ``top_db=None``),
so a checkpoint sees the same features it was trained on.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """(n_freqs, n_mels) triangular filters, as torchaudio.functional.melscale_fbanks(norm=None, htk)."""
    if norm is not None or mel_scale != "htk":  # only torchaudio's defaults are re-implemented
        raise NotImplementedError(f"melscale_fbanks stand-in: norm={norm!r}, mel_scale={mel_scale!r}")
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(_hz_to_mel(torch.tensor(f_min)), _hz_to_mel(torch.tensor(f_max)), n_mels + 2)
    f_pts = _mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


class MelSpectrogram(nn.Module):
    # Registered buffers (nn.Module types attribute access loosely).
    window: torch.Tensor
    fb: torch.Tensor

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_mels: int = 128,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "reflect",
        **_: object,
    ) -> None:
        super().__init__()
        self.n_fft, self.power, self.center, self.pad_mode = n_fft, power, center, pad_mode
        self.win_length = win_length or n_fft
        self.hop_length = hop_length or self.win_length // 2
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        fb = melscale_fbanks(n_fft // 2 + 1, f_min, f_max or sample_rate / 2, n_mels, sample_rate)
        self.register_buffer("fb", fb, persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        shape = waveform.shape
        x = waveform.reshape(-1, shape[-1])
        spec = torch.stft(
            x,
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window.to(x.device),
            center=self.center,
            pad_mode=self.pad_mode,
            return_complex=True,
        )
        spec = spec.abs().pow(self.power)  # (B, freq, time)
        mel = torch.matmul(spec.transpose(-1, -2), self.fb.to(spec.dtype)).transpose(-1, -2)
        return mel.reshape(shape[:-1] + mel.shape[-2:])


class AmplitudeToDB(nn.Module):
    def __init__(self, stype: str = "power", top_db: float | None = None) -> None:
        super().__init__()
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.top_db = top_db

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        db = self.multiplier * torch.log10(torch.clamp(x, min=1e-10))
        if self.top_db is not None:
            db = torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - self.top_db)
        return db


_NAMES = ("torchaudio", "torchaudio.transforms", "torchaudio.functional")


def _shim_modules() -> dict[str, types.ModuleType]:
    mod = types.ModuleType("torchaudio")
    # libraries probe optional packages with importlib.util.find_spec, which needs a spec
    mod.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
    transforms = types.ModuleType("torchaudio.transforms")
    transforms.MelSpectrogram = MelSpectrogram  # type: ignore[attr-defined]
    transforms.AmplitudeToDB = AmplitudeToDB  # type: ignore[attr-defined]
    functional = types.ModuleType("torchaudio.functional")
    functional.melscale_fbanks = melscale_fbanks  # type: ignore[attr-defined]
    mod.transforms = transforms  # type: ignore[attr-defined]
    mod.functional = functional  # type: ignore[attr-defined]
    mod.__cadenza_shim__ = True  # type: ignore[attr-defined]
    return dict(zip(_NAMES, (mod, transforms, functional), strict=True))


def _real_torchaudio_loads() -> bool:
    if "torchaudio" in sys.modules:
        return not getattr(sys.modules["torchaudio"], "__cadenza_shim__", False)
    try:
        import torchaudio  # noqa: F401

        return True
    except Exception:  # ImportError or an OSError from its compiled library
        for name in _NAMES:
            sys.modules.pop(name, None)
        return False


def install() -> None:
    """Make ``import torchaudio`` resolve to this module's stand-in when the real one cannot load."""
    if "torchaudio" in sys.modules and hasattr(sys.modules["torchaudio"], "functional"):
        return
    if _real_torchaudio_loads():
        return
    sys.modules.update(_shim_modules())


@contextmanager
def shimmed() -> Iterator[None]:
    """``import torchaudio`` resolves to the stand-in inside the block only (unless the real one loads);
    whatever ``sys.modules`` held before is put back after, so other code never sees the stand-in."""
    if _real_torchaudio_loads():
        yield
        return
    saved = {name: sys.modules.get(name) for name in _NAMES}
    sys.modules.update(_shim_modules())
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
