#!/usr/bin/env bash
# Step: a local Apache Kafka broker image under the public name apache/kafka:$KAFKA_VERSION (nothing can be
# pulled here), for the demo stack's KRaft broker (fixtures/demo/kafka). Three parts, each cached:
#   jars  Apache Kafka's own jars from Maven Central: `mvn dependency:copy-dependencies` on a throwaway pom
#   jre   Debian's openjdk-17-jre-headless and the packages it needs that the base image lacks
#         (`apt-get --download-only` against the base image's own package status, bookworm main)
#   image `docker build --network=none` from blissful/base:bookworm (pre-formatted log dir, CDS archive)
# Skipped when the image exists with the same build-input hash; an apache/kafka image that this step did not
# build (e.g. pulled on a connected machine) is used as it is.
STEP_NAME=kafka-image
source "$(dirname "$0")/lib.sh"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
IMAGE="apache/kafka:$KAFKA_VERSION"
SRC="$REPO_ROOT/fixtures/demo/kafka"
BASE_IMAGE=blissful/base:bookworm
LABEL=io.blissful.build-hash
WORK="$CACHE_DIR/kafka-image"
step "Kafka broker image $IMAGE"

part() { STEP_NAME="kafka-image ($1)"; }
part check
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null) \
  || fail "$BASE_IMAGE is missing (run scripts/setup/base-image.sh first)"
grep -q "<version>$KAFKA_VERSION</version>" "$SRC/pom.xml" || fail "$SRC/pom.xml does not pin Kafka $KAFKA_VERSION"

want=$( { printf '%s\n' "v1" "$KAFKA_VERSION" "$base_id"
          (cd "$SRC" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16)
have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then skip "$IMAGE up to date (build hash $want)"; exit 0; fi
if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ -z "$have" ]; then
  skip "$IMAGE exists (not built here, e.g. pulled: used as it is)"; exit 0
fi
ctx="$WORK/context"
mkdir -p "$ctx" "$WORK/logs"

# --- jars ----------------------------------------------------------------------------------------------
part jars
pom_hash=$(sha256sum "$SRC/pom.xml" | cut -c1-16)
if [ -f "$ctx/lib/.pom.sha256" ] && [ "$(cat "$ctx/lib/.pom.sha256")" = "$pom_hash" ]; then
  skip "jars match pom.xml ($(ls "$ctx/lib"/*.jar | wc -l) jars)"
else
  if ! command -v mvn >/dev/null 2>&1; then
    echo "    installing maven"
    apt_install maven || fail "apt-get install maven failed"
  fi
  echo "    mvn dependency:copy-dependencies (kafka_2.13:$KAFKA_VERSION; under a minute)"
  rm -rf "$ctx/lib" "$WORK/mvn" && mkdir -p "$WORK/mvn"
  cp "$SRC/pom.xml" "$WORK/mvn/pom.xml"
  log="$WORK/logs/mvn.log"
  if ! (cd "$WORK/mvn" && mvn -B -q dependency:copy-dependencies -DoutputDirectory="$ctx/lib" \
        -DincludeScope=runtime) >"$log" 2>&1; then
    tail -n 20 "$log" >&2; fail "mvn dependency:copy-dependencies failed (see $log)"
  fi
  ls "$ctx/lib"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || fail "mvn left no kafka_2.13-$KAFKA_VERSION.jar in $ctx/lib"
  echo "$pom_hash" >"$ctx/lib/.pom.sha256"
  echo "    $(ls "$ctx/lib"/*.jar | wc -l) jars, $(du -sh "$ctx/lib" | cut -f1)"
fi

# --- jre -------------------------------------------------------------------------------------------------
part jre
debs_stamp="$ctx/debs/.base-image-id"
if [ -f "$debs_stamp" ] && [ "$(cat "$debs_stamp")" = "$base_id" ] && ls "$ctx/debs"/openjdk-17-jre-headless_*.deb >/dev/null 2>&1; then
  skip "JRE packages downloaded ($(ls "$ctx/debs"/*.deb | wc -l) .deb)"
else
  command -v apt-get >/dev/null 2>&1 || fail "apt-get is needed to download Debian's openjdk-17-jre-headless"
  mirror=$(debian_mirror)
  apt_dir="$WORK/apt"
  rm -rf "$ctx/debs" "$apt_dir/archives" && mkdir -p "$ctx/debs" "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  # The same suite as the base image (bookworm main), resolved against the base image's installed packages.
  printf 'Types: deb\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" >"$apt_dir/bookworm.sources"
  docker run --rm --network=none "$BASE_IMAGE" cat /var/lib/dpkg/status >"$apt_dir/status" \
    || fail "could not read the package status of $BASE_IMAGE"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/bookworm.sources" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache::Archives=$apt_dir/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1")
  log="$WORK/logs/apt.log"
  echo "    apt-get --download-only openjdk-17-jre-headless (bookworm)"
  as_root apt-get "${apt_opts[@]}" update >"$log" 2>&1 || { tail -n 10 "$log" >&2; fail "apt-get update (bookworm) failed (see $log)"; }
  as_root apt-get "${apt_opts[@]}" install -y --download-only --no-install-recommends openjdk-17-jre-headless \
    >>"$log" 2>&1 || { tail -n 15 "$log" >&2; fail "apt-get --download-only openjdk-17-jre-headless failed (see $log)"; }
  cp "$apt_dir/archives"/*.deb "$ctx/debs/"
  ls "$ctx/debs"/openjdk-17-jre-headless_*.deb >/dev/null 2>&1 || fail "no openjdk-17-jre-headless .deb was downloaded"
  echo "$base_id" >"$debs_stamp"
  echo "    $(ls "$ctx/debs"/*.deb | wc -l) packages, $(du -sh "$ctx/debs" | cut -f1)"
fi

# --- image -----------------------------------------------------------------------------------------------
part image
cp "$SRC/Dockerfile" "$SRC/log4j2.properties" "$SRC/kafka-run.sh" "$ctx/"
chmod 0755 "$ctx/kafka-run.sh"
printf '*\n!Dockerfile\n!log4j2.properties\n!kafka-run.sh\n!lib/*.jar\n!debs/*.deb\n' >"$ctx/.dockerignore"
log="$WORK/logs/docker-build.log"
printf '    docker build %s from %s (JRE, jars, formatted log dir, CDS archive) ... ' "$IMAGE" "$BASE_IMAGE"
t0=$SECONDS
if ! docker build --network=none --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$LABEL=$want" \
    --label io.blissful.demo=true -t "$IMAGE" "$ctx" >"$log" 2>&1; then
  echo "failed"
  tail -n 25 "$log" >&2
  fail "docker build of $IMAGE failed (see $log)"
fi
echo "done in $((SECONDS - t0)) s"
docker image prune -f --filter "label=io.blissful.demo=true" --filter "label=$LABEL" >/dev/null 2>&1 || true
echo "    $IMAGE ready (build hash $want)"
