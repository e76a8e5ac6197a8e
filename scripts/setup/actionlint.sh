#!/usr/bin/env bash
# Step: actionlint (the GitHub Actions workflow linter, a Go module) in .cache/bin, for the tests that lint
# the example workflow docs/ci/blissful.yml. Built with `go install` from the Go module proxy; skipped when the
# binary of the wanted version is there. Without a Go toolchain it tries Debian's golang-go, then fails with the reason.
STEP_NAME=actionlint
source "$(dirname "$0")/lib.sh"
VERSION="${BLISSFUL_ACTIONLINT_VERSION:-1.7.12}"
MODULE=github.com/rhysd/actionlint
bin="$CACHE_DIR/bin"
step "actionlint $VERSION"
if [ -x "$bin/actionlint" ] && "$bin/actionlint" -version 2>/dev/null | head -n1 | grep -qx "v\?$VERSION"; then
  skip "actionlint $VERSION present in $bin"; exit 0
fi
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || apt_install golang-go || fail "no Go toolchain and apt-get install golang-go failed"
mkdir -p "$bin"
log="$CACHE_DIR/actionlint-go-install.log"
echo "    go install $MODULE/cmd/actionlint@v$VERSION ($(go version | awk '{print $3}'))"
if ! CGO_ENABLED=0 GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    go install -trimpath -ldflags "-s -w -X $MODULE.version=v$VERSION" "$MODULE/cmd/actionlint@v$VERSION" >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  fail "go install $MODULE/cmd/actionlint@v$VERSION failed (see $log)"
fi
"$bin/actionlint" -version >/dev/null 2>&1 || fail "actionlint built but does not run"
echo "    $("$bin/actionlint" -version | head -n1) in $bin"
