#!/usr/bin/env bash
# Scorer: the MuQ package (code only; its weights are CC-BY-NC and never downloaded) without its
# declared dependencies (MuLan/x_clip/torchaudio), and a second soundfont for the robustness suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -c "import importlib.util as u; assert u.find_spec('muq')" 2>/dev/null || .venv/bin/pip install -q --no-deps muq==0.1.0
if ! dpkg -s timgm6mb-soundfont >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends timgm6mb-soundfont >/dev/null
fi
