#!/usr/bin/env bash
# Step: headless Chromium (Debian package), used by the report tests to render the Allure HTML report.
STEP_NAME=chromium
source "$(dirname "$0")/lib.sh"
step "Chromium (headless rendering of the HTML report)"
if [ -x /usr/bin/chromium ]; then
  skip "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) present"; exit 0
fi
apt_install chromium || fail "apt-get install chromium failed"
/usr/bin/chromium --version >/dev/null 2>&1 || fail "chromium installed but does not run"
echo "    $(/usr/bin/chromium --version)"
