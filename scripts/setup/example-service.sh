#!/usr/bin/env bash
# Step: the image of the guide's example service (docs/example-service: "orders" and "inventory", standard-library
# Python), blissful-example/orders:1, built from blissful/base:bookworm when it exists (offline machines), else
# from python:3.12-slim. Used by the docs-as-tests and the packaging test (a stack that is not the demo).
# Skipped when the image exists with the same build-input hash.
STEP_NAME=example-service
source "$(dirname "$0")/lib.sh"
IMAGE=blissful-example/orders:1
DIR="$REPO_ROOT/docs/example-service"
LABEL=io.blissful.build-hash
step "Example service image $IMAGE"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"
if docker image inspect blissful/base:bookworm >/dev/null 2>&1; then BASE=blissful/base:bookworm; else BASE=python:3.12-slim; fi
base_id=$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null || echo "$BASE")
want=$(cat <(printf '%s\n' "$base_id") "$DIR/Dockerfile" "$DIR/server.py" | sha256sum | cut -c1-16)
have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then skip "$IMAGE exists (build hash $want)"; exit 0; fi
ctx="$CACHE_DIR/example-service"
rm -rf "$ctx" && mkdir -p "$ctx"
cp "$DIR/Dockerfile" "$DIR/server.py" "$ctx/"
if ! docker build -q --network=none --build-arg "BASE_IMAGE=$BASE" --label "$LABEL=$want" \
    --label io.blissful.example=true -t "$IMAGE" "$ctx" >"$ctx/docker-build.log" 2>&1; then
  tail -n 20 "$ctx/docker-build.log" >&2
  fail "docker build of $IMAGE failed (see $ctx/docker-build.log)"
fi
echo "    $IMAGE ready (from $BASE, build hash $want)"
