#!/usr/bin/env bash
# Step: the demo stack's images (fixtures/demo): blissful/demo-{app,postgres,redis,lb}:1.
# Built from blissful/base:bookworm when it exists (offline machines; scripts/setup/base-image.sh), else
# from the public Debian image. Python packages come from fixtures/demo/app/wheelhouse/, filled here from
# the package index on the host (containers cannot reach it). Each image is skipped when its
# build-input hash (label io.blissful.build-hash) is unchanged.
STEP_NAME=demo-images
source "$(dirname "$0")/lib.sh"
step "Demo stack images"

DEMO="$REPO_ROOT/fixtures/demo"
LABEL=io.blissful.build-hash
LOGS="$CACHE_DIR/demo-images"
mkdir -p "$LOGS"

docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"

if docker image inspect blissful/base:bookworm >/dev/null 2>&1; then
  BASE_IMAGE=blissful/base:bookworm
else
  BASE_IMAGE="${BLISSFUL_BASE_IMAGE:-debian:bookworm-slim}"
  echo "    blissful/base:bookworm not found: building from $BASE_IMAGE (needs a reachable registry)"
fi
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || echo "$BASE_IMAGE")

# --- wheelhouse ------------------------------------------------------------------------------------
wheelhouse="$DEMO/app/wheelhouse"
req="$DEMO/app/requirements.txt"
req_hash=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$wheelhouse/.requirements.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_hash" ] && ls "$wheelhouse"/*.whl >/dev/null 2>&1; then
  skip "wheelhouse matches requirements.txt ($(ls "$wheelhouse"/*.whl | wc -l) wheels)"
else
  echo "    filling the wheelhouse from requirements.txt"
  rm -rf "$wheelhouse" && mkdir -p "$wheelhouse"
  # The images run Debian bookworm's Python 3.11: download with the same interpreter, so environment
  # markers resolve as they will in the image. Elsewhere, ask pip for CPython 3.11 wheels explicitly.
  pip_log="$LOGS/pip-download.log"
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
     && /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    /usr/bin/python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
      -d "$wheelhouse" -r "$req" >"$pip_log" 2>&1 || { tail -n 15 "$pip_log" >&2; fail "pip download into $wheelhouse failed (see $pip_log)"; }
  else
    py=$(command -v python3 || true)
    [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1 || fail "no python3 with pip on the host to fill $wheelhouse"
    case "$(uname -m)" in
      x86_64) plat=manylinux2014_x86_64 ;;
      aarch64) plat=manylinux2014_aarch64 ;;
      *) fail "no wheel platform known for $(uname -m)" ;;
    esac
    echo "    (host python is not 3.11: downloading cp311 $plat wheels with $py)"
    "$py" -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.11 \
      --implementation cp --abi cp311 --platform "$plat" --platform manylinux_2_28_${plat#manylinux2014_} \
      --platform manylinux_2_17_${plat#manylinux2014_} --platform linux_${plat#manylinux2014_} \
      -d "$wheelhouse" -r "$req" >"$pip_log" 2>&1 || { tail -n 15 "$pip_log" >&2; fail "pip download into $wheelhouse failed (see $pip_log)"; }
  fi
  echo "$req_hash" >"$stamp"
  echo "    wheelhouse: $(ls "$wheelhouse"/*.whl | wc -l) wheels"
fi

# --- images ----------------------------------------------------------------------------------------
# hash of a build context: every file's content and path (wheels by name), the base image's id
context_hash() {
  local ctx=$1
  {
    printf '%s\n' "v1" "$BASE_IMAGE" "$base_id"
    (cd "$ctx" && find . -type f ! -path './wheelhouse/*' ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    (cd "$ctx" && { ls wheelhouse 2>/dev/null || true; })
  } | sha256sum | cut -c1-16
}

built=0
build_image() {
  local tag=$1 ctx=$2 want have t0 log
  want=$(context_hash "$ctx")
  have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$tag" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then skip "$tag up to date (build hash $want)"; return 0; fi
  log="$LOGS/$(echo "$tag" | tr '/:' '__').log"
  printf '    building %s from %s ... ' "$tag" "$BASE_IMAGE"
  t0=$SECONDS
  if ! docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$LABEL=$want" --label io.blissful.demo=true \
      -t "$tag" "$ctx" >"$log" 2>&1; then
    echo "failed"
    tail -n 25 "$log" >&2
    fail "docker build of $tag failed (see $log)"
  fi
  echo "done in $((SECONDS - t0)) s"
  built=$((built + 1))
}

# BLISSFUL_DEMO_TAG (default 1) lets a second checkout build and run its own demo images side by side.
tag="${BLISSFUL_DEMO_TAG:-1}"
build_image "blissful/demo-app:$tag" "$DEMO/app"
build_image "blissful/demo-postgres:$tag" "$DEMO/postgres"
build_image "blissful/demo-redis:$tag" "$DEMO/redis"
build_image "blissful/demo-lb:$tag" "$DEMO/lb"

if [ "$built" -gt 0 ]; then
  # Replaced builds of these images linger untagged: remove them (only ours, by label).
  docker image prune -f --filter "label=io.blissful.demo=true" >/dev/null 2>&1 || true
fi
if ! docker image inspect ghcr.io/shopify/toxiproxy:2.5.0 >/dev/null 2>&1; then
  echo "    note: ghcr.io/shopify/toxiproxy:2.5.0 is missing (scripts/setup/toxiproxy.sh): the stack cannot start without it"
fi
