#!/usr/bin/env bash
# Step: the Allure 3 CLI (npm package `allure`, no Java needed) in .cache/node, for building HTML reports.
STEP_NAME=allure
source "$(dirname "$0")/lib.sh"
step "Allure 3 report CLI"
prefix="$CACHE_DIR/node"
version="${BLISSFUL_ALLURE_VERSION:-3.18.0}"
if [ -x "$prefix/node_modules/.bin/allure" ] && grep -q "\"version\": \"$version\"" "$prefix/node_modules/allure/package.json" 2>/dev/null; then
  skip "allure $version present"; exit 0
fi
command -v npm >/dev/null 2>&1 || apt_install nodejs npm || fail "no npm and apt-get install nodejs npm failed"
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "allure@$version" >/dev/null || fail "npm install allure@$version failed"
"$prefix/node_modules/.bin/allure" --version >/dev/null 2>&1 || fail "allure CLI installed but does not run"
echo "    allure $version in $prefix"
