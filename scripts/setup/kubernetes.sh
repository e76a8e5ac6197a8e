#!/usr/bin/env bash
# Step: a real Kubernetes cluster on 127.0.0.1 for the Kubernetes stack target and its tests.
#   1. build (once) kube-apiserver/-controller-manager/-scheduler/kubelet/kubectl v1.34.4, kwok v0.8.0 and the
#      Argo Rollouts v1.10.1 controller from Go modules, and fetch Debian's etcd + CNI plugins, into
#      $BLISSFUL_K8S_CACHE (default /var/cache/blissful/kubernetes), one directory per component keyed by a
#      hash of its version: every checkout on the machine shares them and a second run skips the build
#      (~10 min from scratch on 2 idle cores, ~2 GB peak memory, ~7 GB disk with the Go caches);
#   2. start the cluster (scripts/kubernetes/up.sh): control plane, a kwok node, Argo Rollouts, a real node
#      (kubelet + private containerd) with the demo images imported. State in $BLISSFUL_K8S_RUN
#      (default /var/tmp/blissful-k8s); KUBECONFIG=$BLISSFUL_K8S_RUN/kc/admin.kubeconfig.
# Stop and clean everything it started: scripts/kubernetes/down.sh [--purge]   (docs/kubernetes.md)
#   BLISSFUL_K8S=0   skip this step entirely (machines that never test on Kubernetes)
STEP_NAME=kubernetes
source "$(dirname "$0")/lib.sh"
step "Local Kubernetes cluster (loopback only)"
if [ "${BLISSFUL_K8S:-1}" = 0 ]; then skip "BLISSFUL_K8S=0"; exit 0; fi
[ "$(uname -s)" = Linux ] || { skip "not Linux: the local cluster needs Linux (use stack.kubernetes.kubeconfig for another cluster)"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  skip "not root: the local cluster's real node needs root (the Kubernetes tests will say the cluster is missing)"; exit 0
fi
K="$REPO_ROOT/scripts/kubernetes"
if ! command -v go >/dev/null 2>&1 && [ ! -d "${BLISSFUL_K8S_CACHE:-/var/cache/blissful/kubernetes}" ]; then
  fail "no Go toolchain on PATH: building the cluster needs Go >= 1.24 once (BLISSFUL_K8S=0 skips this step)"
fi
command -v gcc >/dev/null 2>&1 || apt_install gcc libc6-dev
command -v containerd >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 || apt_install containerd runc
command -v bc >/dev/null 2>&1 || apt_install bc
t0=$SECONDS
"$K/build.sh" || fail "building the Kubernetes binaries failed (log above)"
"$K/kwok-stages.sh" || fail "writing kwok's stages failed"
echo "    (build: $((SECONDS - t0)) s)"
"$K/up.sh" || fail "starting the local cluster failed (logs in ${BLISSFUL_K8S_RUN:-/var/tmp/blissful-k8s}/logs)"
