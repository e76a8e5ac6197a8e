#!/usr/bin/env bash
# Step: blissful/prometheus:<tag>, a Prometheus server from Debian's `prometheus` package, for the canary
# analysis (fixtures/demo/canary.yaml). The package is fetched on the host with `apt-get download` (containers
# cannot reach the archive) and unpacked in the build (fixtures/demo/prometheus/Dockerfile), from
# blissful/base:bookworm when it exists. Skipped when the image's build-input hash is unchanged.
STEP_NAME=prometheus-image
source "$(dirname "$0")/lib.sh"
step "Prometheus image"

CTX="$REPO_ROOT/fixtures/demo/prometheus"
LABEL=io.blissful.build-hash
tag="${BLISSFUL_DEMO_TAG:-1}"
IMAGE="blissful/prometheus:$tag"
LOGS="$CACHE_DIR/prometheus-image"
mkdir -p "$LOGS"

docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"
if docker image inspect blissful/base:bookworm >/dev/null 2>&1; then
  BASE_IMAGE=blissful/base:bookworm
else
  BASE_IMAGE="${BLISSFUL_BASE_IMAGE:-debian:bookworm-slim}"
fi
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || echo "$BASE_IMAGE")
version=$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')
want=$(printf '%s\n' "v1" "$BASE_IMAGE" "$base_id" "${version:-archive}" | cat - "$CTX/Dockerfile" | sha256sum | cut -c1-16)
have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then skip "$IMAGE up to date (build hash $want)"; exit 0; fi

# the package, downloaded on the host into a cache (the build context gets a copy)
debs="$CACHE_DIR/prometheus-image/debs"
mkdir -p "$debs"
if [ -n "$version" ] && ! ls "$debs"/prometheus_*.deb >/dev/null 2>&1; then
  echo "    apt-get download prometheus $version"
  (cd "$debs" && apt-get download -q "prometheus=$version" >"$LOGS/download.log" 2>&1) \
    || { apt-get update -qq >/dev/null 2>&1 || true; (cd "$debs" && apt-get download -q "prometheus=$version" >"$LOGS/download.log" 2>&1); } \
    || { tail -n 5 "$LOGS/download.log" >&2; fail "apt-get download prometheus failed (see $LOGS/download.log)"; }
fi
work="$CACHE_DIR/prometheus-image/context"
rm -rf "$work" && mkdir -p "$work"
cp "$CTX/Dockerfile" "$work/"
cp "$debs"/prometheus_*.deb "$work/" 2>/dev/null || echo "    (no local package: the build installs it from the archive)"

printf '    building %s from %s ... ' "$IMAGE" "$BASE_IMAGE"
t0=$SECONDS
if ! docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$LABEL=$want" --label io.blissful.demo=true \
    -t "$IMAGE" "$work" >"$LOGS/build.log" 2>&1; then
  echo "failed"; tail -n 25 "$LOGS/build.log" >&2
  fail "docker build of $IMAGE failed (see $LOGS/build.log)"
fi
echo "done in $((SECONDS - t0)) s"
rm -rf "$work"
docker image prune -f --filter "label=io.blissful.demo=true" >/dev/null 2>&1 || true
