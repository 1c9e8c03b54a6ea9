"""The production backend: frozen MuQ (24 kHz, ~25 frames/s) + 4 fold MLP heads, window by window.

Per window: MuQ hidden states 9-12 averaged (1024-d for MuQ-large) -> masked mean + std pooling
(2048-d) -> MLP 2048->512->512->19 (GELU, dropout 0.2, sigmoid) per fold -> mean = score, spread =
uncertainty (scaled by the heads' held-out RMSE when the heads file carries it).

Weights: MuQ-large-msd-iter is CC-BY-NC 4.0 (non-commercial); it loads from ``ScorerConfig.muq_model_path``
(a local folder saved by ``MuQ.save_pretrained``), never from a hub at run time. The heads file
(``ScorerConfig.weights``) is a torch state file written by ``save_heads``.

Workarounds for this stack, in code: ``muq/__init__`` imports MuLan (x_clip, full torchaudio), so the
MuQ module is imported directly; torchaudio cannot load beside torch 2.13, so scorer.inference.torch_audio
supplies the two transforms MuQ uses; transformers 5's conformer encoder no longer returns per-layer
hidden states, so forward pre-hooks on its layers record them.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scorer.config import ScorerConfig
from scorer.dimensions import DIMENSIONS
from scorer.errors import ScorerConfigError
from scorer.inference.decode import Decoded
from scorer.inference.features import FEATURE_SR

MUQ_SR = 24000
LAYERS = (9, 10, 11, 12)  # hidden_states indices averaged (0 = conformer input, 12 = final output)


def import_muq():  # -> (MuQ, MuQConfig)
    """Import muq.muq.muq without running muq/__init__ (which pulls MuLan and its dependencies)."""
    from scorer.inference.torch_audio import install

    install()
    _drop_broken_lazy_modules()
    if "muq" not in sys.modules:
        spec = importlib.util.find_spec("muq")
        if spec is None or not spec.submodule_search_locations:
            raise ScorerConfigError("the 'muq' package is not installed (pip install --no-deps muq)")
        pkg = types.ModuleType("muq")
        pkg.__path__ = list(spec.submodule_search_locations)  # a namespace-like parent, __init__ not run
        sys.modules["muq"] = pkg
    model_mod = importlib.import_module("muq.muq.models.muq_model")
    # MuQModel wraps its conformer settings in an EasyDict; transformers 5's encoder reads attributes a
    # plain dict lacks (attention implementation, layerdrop, ...), so give it a real config object.
    model_mod.EasyDict = _conformer_config
    mod = importlib.import_module("muq.muq.muq")
    return mod.MuQ, mod.MuQConfig


def _drop_broken_lazy_modules() -> None:
    """librosa registers optional backends (resampy) as lazy modules; torch.distributed, imported by
    transformers, walks sys.modules with inspect and would trigger resampy's import, which fails
    without pkg_resources. Remove lazy entries that cannot load (they were never usable anyway)."""
    for name, mod in list(sys.modules.items()):
        if type(mod).__name__ != "_LazyModule":
            continue
        try:
            getattr(mod, "__file__", None)
        except Exception:
            sys.modules.pop(name, None)


def _conformer_config(values: dict):  # -> Wav2Vec2ConformerConfig
    from transformers import Wav2Vec2ConformerConfig

    clean = {k: v for k, v in dict(values).items() if k not in ("id2label", "label2id")}
    config = Wav2Vec2ConformerConfig(**clean)
    config._attn_implementation = "eager"  # the conformer is built directly, not via from_pretrained
    return config


def _heads_module(in_dim: int, n_out: int = len(DIMENSIONS)):
    import torch
    from torch import nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(in_dim, 512),
                nn.GELU(),
                nn.Dropout(0.2),
                nn.Linear(512, 512),
                nn.GELU(),
                nn.Dropout(0.2),
                nn.Linear(512, n_out),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.net(x))

    return Head


def new_heads(in_dim: int, n_folds: int = 4, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    head_cls = _heads_module(in_dim)
    return torch.nn.ModuleList([head_cls() for _ in range(n_folds)])


def save_heads(path: Path, heads, in_dim: int, rmse: Sequence[float] | None = None) -> None:
    import torch

    torch.save(
        {
            "in_dim": in_dim,
            "n_folds": len(heads),
            "state": heads.state_dict(),
            "rmse": list(rmse) if rmse is not None else None,
        },
        path,
    )


class MuqEncoder:
    """Frozen MuQ with per-layer hidden states recorded by forward pre-hooks."""

    def __init__(self, model, device: str = "cpu") -> None:
        import torch

        self.model = model.eval().to(device)
        self.device = device
        self.inner = model.model  # MuQModel
        layers = self.inner.conformer.layers
        if len(layers) < max(LAYERS):
            raise ScorerConfigError(
                f"MuQ model has {len(layers)} conformer layers; layers {LAYERS} are needed"
            )
        self._inputs: dict[int, torch.Tensor] = {}
        for i, layer in enumerate(layers):
            layer.register_forward_pre_hook(self._hook(i), with_kwargs=True)
        self.dim = int(self.inner.conformer.layer_norm.normalized_shape[0])

    def _hook(self, i: int):
        def hook(_module, args, kwargs):
            self._inputs[i] = args[0] if args else kwargs["hidden_states"]

        return hook

    def hidden_states(self, wav):  # (B, T) float tensor at 24 kHz -> list of (B, frames, dim)
        import torch

        with torch.inference_mode():
            x = self.inner.preprocessing(wav.to(self.device), features=["melspec_2048"])
            x = self.inner.normalize(x)
            h = self.inner.conv(x["melspec_2048"])
            self._inputs.clear()
            out = self.inner.conformer(h)
            last = out["last_hidden_state"] if isinstance(out, dict) or hasattr(out, "keys") else out[0]
        n = len(self.inner.conformer.layers)
        return [self._inputs[i] for i in range(n)] + [last]

    def pooled(self, wav) -> np.ndarray:
        """Layers 9-12 averaged, then mean + std over frames: (B, 2 * dim)."""
        import torch

        states = self.hidden_states(wav)
        h = torch.stack([states[i] for i in LAYERS]).mean(0)  # (B, frames, dim)
        return torch.cat([h.mean(1), h.std(1, unbiased=False)], dim=-1).float().cpu().numpy()


class MuqBackend:
    name = "muq"

    def __init__(self, encoder: MuqEncoder, heads, rmse: np.ndarray | None) -> None:
        self.encoder = encoder
        self.heads = heads.eval()
        self.rmse = rmse if rmse is not None else np.full(len(DIMENSIONS), 0.08)

    @classmethod
    def from_config(cls, config: ScorerConfig) -> MuqBackend:
        import torch

        if config.muq_model_path is None or not Path(config.muq_model_path).is_dir():
            raise ScorerConfigError(
                "scorer_backend=muq needs CADENZA_MUQ_MODEL_PATH: a local MuQ folder (weights CC-BY-NC)"
            )
        if config.weights is None or not Path(config.weights).is_file():
            raise ScorerConfigError("scorer_backend=muq needs CADENZA_SCORER_WEIGHTS: the MuQ heads file")
        MuQ, _ = import_muq()
        model = MuQ.from_pretrained(str(config.muq_model_path))  # a local folder: no network
        encoder = MuqEncoder(model, config.muq_device)
        blob = torch.load(config.weights, map_location="cpu", weights_only=True)
        if blob["in_dim"] != 2 * encoder.dim:
            raise ScorerConfigError(
                f"MuQ heads expect {blob['in_dim']} inputs; the model gives {2 * encoder.dim}"
            )
        heads = new_heads(blob["in_dim"], blob["n_folds"])
        heads.load_state_dict(blob["state"])
        rmse = np.asarray(blob["rmse"]) if blob.get("rmse") else None
        return cls(encoder, heads, rmse)

    def predict_windows(
        self,
        decoded: Decoded,
        spans: Sequence[tuple[float, float]],
        *,
        transcription: object = None,
        aligned: object = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``transcription`` and ``aligned`` are accepted for the Backend protocol and unused: MuQ reads the
        waveform (it has no score-aware head)."""
        import torch

        from scorer.inference.resample import resample

        wav = resample(decoded.audio, FEATURE_SR, MUQ_SR)
        feats = []
        for start, end in spans:  # one window at a time: bounded memory for 30-minute inputs
            clip = torch.from_numpy(np.ascontiguousarray(wav[int(start * MUQ_SR) : int(end * MUQ_SR)]))
            feats.append(self.encoder.pooled(clip[None].float())[0])
        x = torch.from_numpy(np.stack(feats)).float()
        with torch.inference_mode():
            preds = torch.stack([h(x) for h in self.heads]).numpy()  # (K, N, D)
        spread = preds.std(0)
        mean_spread = np.maximum(spread.mean(0), 1e-6)
        unc = self.rmse * np.clip(spread / mean_spread, 0.5, 3.0)
        return preds.mean(0), unc, self.rmse
