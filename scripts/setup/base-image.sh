#!/usr/bin/env bash
# Step: the local base image blissful/base:bookworm, a Debian bookworm rootfs made with debootstrap
# and imported into Docker (no container registry can be reached, so nothing can be pulled).
# Skipped when the image exists with the same build-input hash. The rootfs tarball is cached in $CACHE_DIR.
STEP_NAME=base-image
source "$(dirname "$0")/lib.sh"
step "Base image blissful/base:bookworm"

IMAGE=blissful/base:bookworm
SUITE=bookworm
INCLUDE="python3,python3-venv,python3-pip,iproute2,iptables,stress-ng,redis-server,nginx-light,postgresql,procps,ca-certificates,curl,tini,dnsutils"
# The hash of everything that decides the image's content (not the mirror: any mirror gives the same suite).
want=$(printf '%s\n' "v1" "$SUITE" "minbase" "$INCLUDE" | sha256sum | cut -c1-16)
LABEL=io.blissful.build-hash

command -v docker >/dev/null 2>&1 || fail "docker CLI not found (run scripts/setup/docker.sh first)"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/setup/docker.sh first)"

have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then skip "$IMAGE exists (build hash $want)"; exit 0; fi
if [ -n "$have" ] || docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "    $IMAGE exists with build hash '${have:-none}', want $want: rebuilding"
fi

tarball="$CACHE_DIR/base-image/rootfs-$SUITE-$want.tar"
mkdir -p "$CACHE_DIR/base-image"
if [ -s "$tarball" ]; then
  echo "    using cached rootfs $tarball"
else
  if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null || fail "debootstrap is missing and there is no apt-get to install it"
    echo "    installing debootstrap"
    apt_install debootstrap || fail "apt-get install debootstrap failed"
  fi
  mirror=$(debian_mirror)
  rootfs="$CACHE_DIR/base-image/rootfs.tmp"
  as_root rm -rf "$rootfs"
  mkdir -p "$rootfs"
  log="$CACHE_DIR/base-image/debootstrap.log"
  echo "    debootstrap $SUITE (minbase + ${INCLUDE//,/ }) — about a minute; log: $log"
  t0=$SECONDS
  if ! as_root debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$rootfs" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 20 "$rootfs/debootstrap/debootstrap.log" >&2
    fail "debootstrap failed (see $log)"
  fi
  echo "    debootstrap done in $((SECONDS - t0)) s; trimming caches"
  # Slim the rootfs: package caches and lists are not needed at run time (images install nothing later
  # when built from this base; a Dockerfile that needs apt runs `apt-get update` itself).
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/debootstrap
  # Mirror URI of this machine goes into the image's apt sources so `apt-get update` works inside it.
  printf 'deb %s %s main\n' "$mirror" "$SUITE" | as_root tee "$rootfs/etc/apt/sources.list" >/dev/null
  # Services must not start during package installs in later builds.
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$rootfs/usr/sbin/policy-rc.d" >/dev/null
  as_root chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  as_root tar -C "$rootfs" -cf "$tarball.partial" . || fail "tar of the rootfs failed"
  mv "$tarball.partial" "$tarball"
  as_root rm -rf "$rootfs"
  echo "    cached rootfs $(du -h "$tarball" | cut -f1) at $tarball"
fi

echo "    docker import $IMAGE"
docker import \
  --change "LABEL $LABEL=$want" \
  --change "LABEL io.blissful.base=true" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE" <"$tarball" >/dev/null || fail "docker import of $tarball failed"
docker run --rm --network=none "$IMAGE" python3 -c 'import sys; print("    image python", sys.version.split()[0])' \
  || fail "the imported image does not run python3"
echo "    $IMAGE ready (build hash $want)"
