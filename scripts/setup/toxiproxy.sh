#!/usr/bin/env bash
# Step: a local Toxiproxy image under the public name ghcr.io/shopify/toxiproxy:$VERSION (nothing can be
# pulled here). Static binaries from `go install` (Go module proxy) go into a FROM-scratch image
# (fixtures/demo/toxiproxy/Dockerfile). Skipped when the image exists with the same build-input hash.
# Without a Go toolchain or module proxy it says "Toxiproxy image not available: <error>" and exits 0:
# the demo stack then cannot start, and the plugin reports that itself. No replacement proxy is made.
STEP_NAME=toxiproxy
source "$(dirname "$0")/lib.sh"
VERSION="${TOXIPROXY_VERSION:-2.5.0}"
IMAGE="ghcr.io/shopify/toxiproxy:$VERSION"
MODULE=github.com/Shopify/toxiproxy/v2
DOCKERFILE_DIR="$REPO_ROOT/fixtures/demo/toxiproxy"
LABEL=io.blissful.build-hash
step "Toxiproxy image $IMAGE"

docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"

want=$(cat <(printf '%s\n' "v2" "$MODULE" "$VERSION") "$DOCKERFILE_DIR/Dockerfile" | sha256sum | cut -c1-16)
have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then skip "$IMAGE exists (build hash $want)"; exit 0; fi
if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ -z "$have" ]; then
  # An image with this name but none of our labels: the real public image (e.g. pulled on a connected
  # machine). Use it as it is.
  skip "$IMAGE exists (not built here; used as it is)"; exit 0
fi

unavailable() { printf 'Toxiproxy image not available: %s\n' "$*" >&2; exit 0; }

ctx="$CACHE_DIR/toxiproxy"
bin="$ctx/bin"
mkdir -p "$bin"
# A binary built from the wanted module version is reused (`go version -m` names the module version).
bin_ok() { [ -x "$bin/$1" ] && command -v go >/dev/null 2>&1 && go version -m "$bin/$1" 2>/dev/null | grep -q "mod[[:space:]]*$MODULE[[:space:]]*v$VERSION" \
  && go version -m "$bin/$1" | grep -q -- "$MODULE.Version=$VERSION"; }
if bin_ok server && bin_ok cli; then
  echo "    using cached binaries in $bin"
else
  command -v go >/dev/null 2>&1 || unavailable "no Go toolchain ('go' not on PATH) to build $MODULE@v$VERSION"
  echo "    go install $MODULE/cmd/{server,cli}@v$VERSION ($(go version | awk '{print $3}'), ~30 s)"
  rm -f "$bin/server" "$bin/cli"
  log="$ctx/go-install.log"
  if ! CGO_ENABLED=0 GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
      go install -trimpath -ldflags="-s -w -X $MODULE.Version=$VERSION" "$MODULE/cmd/server@v$VERSION" "$MODULE/cmd/cli@v$VERSION" >"$log" 2>&1; then
    unavailable "go install $MODULE@v$VERSION failed: $(tail -n 3 "$log" | tr '\n' ' ')"
  fi
  [ -x "$bin/server" ] && [ -x "$bin/cli" ] || unavailable "go install left no server/cli binaries in $bin"
fi

cp "$DOCKERFILE_DIR/Dockerfile" "$ctx/Dockerfile"
printf '*\n!bin/server\n!bin/cli\n' >"$ctx/.dockerignore"
echo "    docker build $IMAGE"
if ! docker build -q --network=none --label "$LABEL=$want" --label io.blissful.demo=true \
    -t "$IMAGE" "$ctx" >"$ctx/docker-build.log" 2>&1; then
  tail -n 20 "$ctx/docker-build.log" >&2
  fail "docker build of $IMAGE failed (see $ctx/docker-build.log)"
fi
echo "    $IMAGE ready (build hash $want)"
