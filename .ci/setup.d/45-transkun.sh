#!/usr/bin/env bash
# Scorer accurate mode: transkun 2.0.1 (MIT; its piano checkpoint, 2.0.pt, ships inside the wheel).
# Installed without its declared dependencies: they pull torchaudio (does not load beside torch 2.13;
# scorer/inference/torch_audio.py stands in), moduleconf and ncls (not needed for transcription).
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -c "import importlib.util as u; assert u.find_spec('transkun')" 2>/dev/null \
  || .venv/bin/pip install -q --no-deps transkun==2.0.1
