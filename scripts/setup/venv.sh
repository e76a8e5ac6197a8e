#!/usr/bin/env bash
# Step: the project environment in .venv/ (editable install with dev extras).
# Skipped when pyproject.toml has not changed since the last successful install.
STEP_NAME=venv
source "$(dirname "$0")/lib.sh"
step "Python environment (.venv)"
venv="$REPO_ROOT/.venv"
stamp="$venv/.blissful-installed"
want=$(sha256sum "$REPO_ROOT/pyproject.toml" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  skip "dependencies match pyproject.toml"; exit 0
fi
py=""
for candidate in "${PYTHON:-}" python3.11 python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py=$candidate; break
  fi
done
[ -n "$py" ] || fail "no Python >= 3.11 found (set PYTHON=/path/to/python3.11)"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv" || fail "$py -m venv failed"
echo "    installing pytest-blissful[dev,kubernetes] with $("$venv/bin/python" --version)"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null || fail "pip upgrade failed"
"$venv/bin/python" -m pip install -q -e "$REPO_ROOT[dev,kubernetes]" || fail "pip install failed"
echo "$want" > "$stamp"
