#!/usr/bin/env bash
# Step: a running Docker engine. Untouched when `docker info` already answers.
STEP_NAME=docker
source "$(dirname "$0")/lib.sh"
step "Docker engine"
if docker info >/dev/null 2>&1; then skip "docker info answers"; exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  command -v apt-get >/dev/null || fail "no Docker engine and no apt-get to install one: install Docker and re-run"
  echo "    installing docker.io from Debian"
  apt_install docker.io || fail "apt-get install docker.io failed"
fi
echo "    starting dockerd (log: /var/log/dockerd.log)"
as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && { echo "    dockerd is up"; exit 0; }; sleep 0.5; done
tail -n 20 /var/log/dockerd.log >&2 || true
fail "dockerd did not answer within 30 s (see /var/log/dockerd.log)"
