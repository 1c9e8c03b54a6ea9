"""The MuQ backend end to end, on a MuQ-shaped model built from a small config with random weights
(the real MuQ-large weights are CC-BY-NC and live on a hub this machine cannot reach)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from api.settings import Settings  # noqa: E402
from scorer.dimensions import NAMES  # noqa: E402
from scorer.errors import ScorerConfigError  # noqa: E402
from scorer.inference.muq_backend import LAYERS, MuqEncoder, import_muq, new_heads, save_heads  # noqa: E402
from scorer.inference.service import Scorer  # noqa: E402

SMALL = dict(
    encoder_dim=64,
    conv_dim=16,
    encoder_depth=12,
    n_mels=128,
    codebook_size=32,
    codebook_dim=8,
    stat={"melspec_2048_mean": 6.77, "melspec_2048_std": 18.4},
    w2v2_config=dict(
        hidden_size=64,
        num_attention_heads=4,
        intermediate_size=128,
        num_hidden_layers=12,
        conv_depthwise_kernel_size=7,
        position_embeddings_type="relative",
    ),
)


@pytest.fixture(scope="module")
def small_muq(tmp_path_factory) -> Path:
    MuQ, _ = import_muq()
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("muq") / "muq-small"
    MuQ(SMALL).save_pretrained(str(folder))
    heads = new_heads(2 * SMALL["encoder_dim"])
    save_heads(folder / "heads.pt", heads, 2 * SMALL["encoder_dim"], rmse=[0.07] * 19)
    return folder


def test_torchaudio_shim_matches_librosa_mel() -> None:
    import librosa

    from scorer.inference.torch_audio import AmplitudeToDB, MelSpectrogram

    y = np.random.default_rng(0).standard_normal(24000).astype(np.float32)
    ours = MelSpectrogram(sample_rate=24000, n_fft=2048, hop_length=240, n_mels=128)(
        torch.from_numpy(y)
    ).numpy()
    ref = librosa.feature.melspectrogram(
        y=y, sr=24000, n_fft=2048, hop_length=240, n_mels=128, htk=True, norm=None, pad_mode="reflect"
    )
    assert np.abs(ours - ref).max() / ref.max() < 1e-4
    db = AmplitudeToDB()(torch.tensor([[1.0, 0.1]])).numpy()
    assert np.allclose(db, [[0.0, -10.0]], atol=1e-5)


def test_hooks_recover_per_layer_hidden_states(small_muq: Path) -> None:
    MuQ, _ = import_muq()
    enc = MuqEncoder(MuQ.from_pretrained(str(small_muq)))
    wav = torch.randn(1, 24000 * 4) * 0.1
    states = enc.hidden_states(wav)
    assert len(states) == 13
    frames = states[0].shape[1]
    assert 90 <= frames <= 110  # ~25 frames/s
    assert all(s.shape == (1, frames, 64) for s in states)
    assert not torch.allclose(states[LAYERS[0]], states[LAYERS[-1]])  # distinct layers, not one repeated
    # the hooked input of layer i+1 is layer i's output
    layer = enc.inner.conformer.layers[3]
    with torch.inference_mode():
        out = layer(states[3], relative_position_embeddings=enc.inner.conformer.embed_positions(states[3]))
    out = out[0] if isinstance(out, tuple) else out
    assert torch.allclose(out, states[4], atol=1e-5)
    assert enc.pooled(wav).shape == (1, 128)  # mean + std of the 64-d average


def test_muq_backend_scores_a_recording(small_muq: Path, shared_dir: Path, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        shared_dir=shared_dir,
        scorer_backend="muq",
        muq_model_path=small_muq,
        scorer_weights=small_muq / "heads.pt",
    )
    scorer = Scorer.load(settings.scorer_config())
    assert scorer.backend == "muq"
    report = scorer.score_path(shared_dir / "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav")
    assert report.backend == "muq"
    assert [d.name for d in report.dimensions] == list(NAMES)
    assert all(0.0 <= d.score <= 1.0 and d.uncertainty > 0 for d in report.dimensions)
    assert len(report.windows) == 1 and report.duration_s == pytest.approx(14.35, abs=0.05)


def test_muq_backend_needs_local_weights(tmp_path: Path, shared_dir: Path) -> None:
    with pytest.raises(ScorerConfigError):
        Scorer.load(Settings(home=tmp_path, shared_dir=shared_dir, scorer_backend="muq").scorer_config())
