#!/usr/bin/env bash
# Entry point of both images. Roles:
#   api            the REST service and web page (`cadenza serve`), several uvicorn workers per replica
#   worker         the scoring worker: claims queued jobs from the shared database and scores them
#   worker-health  exit 0 while the worker's heartbeat file is fresh (the GPU image's health check)
#   index [ARGS]   index documents into the configured stores (default: the shared corpus)
#   <anything>     run it as a command (e.g. `cadenza keys create --role admin`)
set -euo pipefail
role="${1:-api}"
shift || true
case "$role" in
  api)
    exec cadenza serve --host "${CADENZA_API_HOST:-0.0.0.0}" --port "${CADENZA_API_PORT:-8000}" \
      --workers "${CADENZA_API_WORKERS:-2}" "$@"
    ;;
  worker)
    exec python /opt/cadenza/docker/worker.py "$@"
    ;;
  worker-health)
    exec python /opt/cadenza/docker/worker.py --check
    ;;
  index)
    exec cadenza index "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
