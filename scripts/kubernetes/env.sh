# Shared settings of the local Kubernetes cluster scripts (sourced, not run).
#   BLISSFUL_K8S_CACHE  built binaries, keyed by a hash of their versions (default /var/cache/blissful/kubernetes:
#                       outside any checkout, so every checkout on the machine reuses one build)
#   BLISSFUL_K8S_RUN    the running cluster's state: PKI, kubeconfigs, etcd data, logs, PIDs (default /var/tmp/blissful-k8s)
#   BLISSFUL_K8S_API_PORT / _ETCD_PORT   loopback ports (6443 / 2379)
K8S_VERSION=v1.34.4
KWOK_VERSION=v0.8.0
ARGO_VERSION=v1.10.1          # v1.10.2 declares go 1.26.10; v1.10.1 builds with go 1.26.8
ETCD_VERSION=v3.6.16          # a wrapper main around etcdmain.Main (Debian's etcd 3.4 lacks RequestWatchProgress,
                              # which kwok's client-go needs for its watches)
CNI_DEB=containernetworking-plugins
RECIPE=1                      # bump when the way a component is built changes
K8S_CACHE=${BLISSFUL_K8S_CACHE:-/var/cache/blissful/kubernetes}
K8S_RUN=${BLISSFUL_K8S_RUN:-/var/tmp/blissful-k8s}
API_PORT=${BLISSFUL_K8S_API_PORT:-6443}
ETCD_PORT=${BLISSFUL_K8S_ETCD_PORT:-2379}
ARGO_METRICS_PORT=${BLISSFUL_K8S_ARGO_METRICS_PORT:-18090}
ARGO_HEALTHZ_PORT=${BLISSFUL_K8S_ARGO_HEALTHZ_PORT:-18091}
NODE_NAME=localhost           # the real node: the apiserver reaches its kubelet at localhost:10250
BRIDGE=blissful-k8s0
CGROUP_ROOT=blissful-k8s
KWOK_NODE=kwok-node-0

# a component's directory under the cache: name-<12 hex of its recipe string>
component_dir() { printf '%s/%s-%s\n' "$K8S_CACHE" "$1" "$(printf '%s' "$2|$RECIPE" | sha256sum | cut -c1-12)"; }
K8S_DIR=$(component_dir k8s "$K8S_VERSION")                # kube-apiserver, -controller-manager, -scheduler, kubelet, kubectl, pause
KWOK_DIR=$(component_dir kwok "$KWOK_VERSION")
ARGO_DIR=$(component_dir argo-rollouts "$ARGO_VERSION")    # rollouts-controller + crds/
ETCD_DIR=$(component_dir etcd "$ETCD_VERSION")
DEB_DIR=$(component_dir debs "$CNI_DEB bookworm")         # CNI plugins
KUBECONFIG_ADMIN=$K8S_RUN/kc/admin.kubeconfig
export GOPATH=$K8S_CACHE/go GOMODCACHE=$K8S_CACHE/go/mod GOCACHE=$K8S_CACHE/go/build
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=${GOTOOLCHAIN:-local}
