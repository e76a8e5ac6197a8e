#!/usr/bin/env bash
# Stop everything up.sh started, by PID (never by name), and remove what it left on the host:
#   the real node (kubelet, its containerd and shims, bridge, cgroups: node.sh down), Argo Rollouts, kwok,
#   the scheduler, the controller-manager, the apiserver and etcd. No iptables or sysctl state to undo.
#   down.sh            stop the cluster; keep the PKI and the node's image store (next up is faster)
#   down.sh --purge    also remove $BLISSFUL_K8S_RUN entirely (etcd data, PKI, images, logs)
#   (the built binaries stay in $BLISSFUL_K8S_CACHE; remove that directory to rebuild from scratch)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
stop() {
  local f=$K8S_RUN/pids/$1.pid p i; [ -f "$f" ] || return 0; p=$(cat "$f")
  if kill "$p" 2>/dev/null; then for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; fi
  kill -9 "$p" 2>/dev/null || true; rm -f "$f"
}
if [ "${1:-}" != --control-plane-only ]; then
  [ -d "$K8S_RUN/node" ] && "$here/node.sh" down
fi
for n in rollouts-controller kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$n"; done
if [ "${1:-}" = --purge ]; then
  # pod volumes were mounted in the node's private mount namespace, gone with it: a plain rm is safe
  rm -rf "$K8S_RUN"
fi
echo "    local Kubernetes cluster stopped"
