#!/usr/bin/env bash
# Fresh-machine setup, idempotent: every step skips itself when its result already exists.
#   ./scripts/setup.sh            all steps
#   ./scripts/setup.sh venv docker only the named steps
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(docker compose venv base-image toxiproxy kafka-image demo-images prometheus-image allure chromium actionlint groovy example-service kubernetes)
started=$(date +%s)
for name in "${steps[@]}"; do
  script="$here/setup/$name.sh"
  [ -x "$script" ] || { echo "setup: unknown step '$name' (have: $(ls "$here/setup" | grep -v lib.sh | sed 's/\.sh$//' | tr '\n' ' '))" >&2; exit 2; }
  t0=$(date +%s)
  "$script"
  echo "    ($name: $(( $(date +%s) - t0 )) s)"
done
echo "setup complete in $(( $(date +%s) - started )) s"
