#!/usr/bin/env bash
# The real node "localhost": a kubelet and a PRIVATE containerd (Debian's containerd/runc, CNI plugins from
# the cache), never Docker's. Both run inside one private mount namespace (`unshare --mount`), so the kubelet's
# volume mounts, its /var/log writes and its kernel-tunable writes never reach the host: small files already
# holding the kubelet's wanted values are bind-mounted over /proc/sys/{vm/overcommit_memory,kernel/panic,...}.
# Host-visible, and removed by `node.sh down`: the bridge $BRIDGE (no IP, no gateway, no masquerade),
# cgroups /<controller>/$CGROUP_ROOT, shim sockets under /run/containerd/s. No iptables rules
# (makeIPTablesUtilChains: false), no sysctl changes.
#   node.sh up | down | images      (images: import the pause image and the demo images from `docker save`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
N=$K8S_RUN/node; P=$K8S_RUN/pki; B=$K8S_DIR/bin
KUBECTL=("$B/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
SOCK=$N/ctrd/containerd.sock
CTR=(ctr --address "$SOCK" -n k8s.io)
PAUSE_IMAGE=blissful/k8s-pause:3.10
alive() { local f=$N/pids/$1.pid; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }
stop() { # name: TERM, wait up to 10 s, KILL
  local f=$N/pids/$1.pid p i; [ -f "$f" ] || return 0; p=$(cat "$f")
  if kill "$p" 2>/dev/null; then for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; fi
  kill -9 "$p" 2>/dev/null || true; rm -f "$f"
}

images() {
  [ -S "$SOCK" ] || { echo "kubernetes: the node's containerd is not running" >&2; return 1; }
  local stamp=$N/images.imported want have tar list=() img
  # pause: k8s' own pause.c, built static by build.sh, in a FROM scratch image
  if ! "${CTR[@]}" images ls -q | grep -qx "docker.io/$PAUSE_IMAGE"; then
    local ctx; ctx=$(mktemp -d); cp "$B/pause" "$ctx/pause"
    printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$PAUSE_IMAGE" "$ctx" >/dev/null 2>&1
    docker save "$PAUSE_IMAGE" | "${CTR[@]}" images import --all-platforms - >/dev/null
    docker rmi "$PAUSE_IMAGE" >/dev/null 2>&1 || true; rm -rf "$ctx"
  fi
  # the demo images (fixtures/demo), re-imported when their docker image ids change
  local tag=${BLISSFUL_DEMO_TAG:-1}
  for img in blissful/demo-app blissful/demo-postgres blissful/demo-redis blissful/demo-lb ghcr.io/shopify/toxiproxy; do
    [ "$img" = ghcr.io/shopify/toxiproxy ] && img=$img:2.5.0 || img=$img:$tag
    docker image inspect "$img" >/dev/null 2>&1 && list+=("$img")
  done
  [ ${#list[@]} -gt 0 ] || { echo "    (no demo images in Docker: run ./scripts/setup.sh demo-images to use the demo on this node)"; return 0; }
  want=$(docker image inspect -f '{{.Id}}' "${list[@]}" | sha256sum | cut -c1-16)
  have=$(cat "$stamp" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    tar=$K8S_RUN/images.tar
    docker save -o "$tar" "${list[@]}"
    "${CTR[@]}" images import --all-platforms "$tar" >/dev/null
    rm -f "$tar"; echo "$want" > "$stamp"
    echo "    imported into the node: ${list[*]}"
  fi
}

up() {
  if alive kubelet && alive containerd && "${KUBECTL[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s >/dev/null 2>&1; then
    images; return 0
  fi
  down >/dev/null 2>&1 || true
  command -v containerd >/dev/null && command -v runc >/dev/null && command -v unshare >/dev/null || {
    echo "kubernetes: the real node needs containerd, runc and unshare (Debian: apt-get install containerd runc)" >&2; return 1; }
  mkdir -p "$N"/{ctrd,kubelet,varlog,fake,net.d,ipam,pids,logs,podlogs}
  cat > "$N/kubelet.kubeconfig" <<Y
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$P/ca.crt"}}]
users: [{name: kubelet, user: {client-certificate: "$P/node.crt", client-key: "$P/node.key"}}]
contexts: [{name: local, context: {cluster: local, user: kubelet}}]
current-context: local
Y
  cat > "$N/containerd.toml" <<Y
version = 2
root = "$N/ctrd/root"
state = "$N/ctrd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$N/ctrd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # without CAP_SYS_RESOURCE runc cannot lower oom_score_adj ("can't get final child's PID from pipe")
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$N/ctrd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$DEB_DIR/root/usr/lib/cni"
    conf_dir = "$N/net.d"
Y
  cat > "$N/net.d/10-blissful.conflist" <<Y
{"cniVersion": "0.4.0", "name": "blissful",
 "plugins": [{"type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "ipMasq": false, "hairpinMode": false,
              "ipam": {"type": "host-local", "dataDir": "$N/ipam", "ranges": [[{"subnet": "10.233.0.0/24"}]]}},
             {"type": "loopback"}]}
Y
  cat > "$N/kubelet.yaml" <<Y
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: "$P/kubelet-server.crt"
tlsPrivateKeyFile: "$P/kubelet-server.key"
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$P/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $N/podlogs
resolvConf: ""
serializeImagePulls: false
evictionHard: {memory.available: "100Mi"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
makeIPTablesUtilChains: false
localStorageCapacityIsolation: false
Y
  # cgroup v1 (this host): the kubelet wants its cgroup root in every hierarchy; v2: one directory
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then mkdir -p "/sys/fs/cgroup/$CGROUP_ROOT"
  else for d in /sys/fs/cgroup/*/; do case $d in */unified/) continue ;; esac; mkdir -p "$d$CGROUP_ROOT" 2>/dev/null || true; done; fi
  setsid nohup unshare --mount --propagation private -- bash -c '
    set -e
    N=$1; B=$2; CFG=$3
    for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1; do
      k=${kv%%=*}; f=$N/fake/$(echo "$k" | tr / _); echo "${kv#*=}" > "$f"; mount --bind "$f" "/proc/sys/$k"
    done
    mount --bind "$N/varlog" /var/log
    containerd --config "$N/containerd.toml" > "$N/logs/containerd.log" 2>&1 & echo $! > "$N/pids/containerd.pid"
    for i in $(seq 100); do [ -S "$N/ctrd/containerd.sock" ] && break; sleep 0.1; done
    "$B/kubelet" --config "$N/kubelet.yaml" --kubeconfig "$N/kubelet.kubeconfig" --root-dir "$N/kubelet" \
      --cert-dir "$N/kubelet/pki" --hostname-override "$CFG" > "$N/logs/kubelet.log" 2>&1 & echo $! > "$N/pids/kubelet.pid"
    wait
  ' node-ns "$N" "$B" "$NODE_NAME" > "$N/logs/ns.log" 2>&1 < /dev/null &
  echo $! > "$N/pids/ns.pid"
  local i
  for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && break; sleep 0.1; done
  [ -S "$SOCK" ] || { echo "kubernetes: the node's containerd did not start (see $N/logs/containerd.log)" >&2; tail -5 "$N/logs/containerd.log" >&2; return 1; }
  images
  for ((i = 0; i < 600; i++)); do
    "${KUBECTL[@]}" get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True && return 0
    alive kubelet || { echo "kubernetes: the kubelet exited (see $N/logs/kubelet.log)" >&2; tail -5 "$N/logs/kubelet.log" >&2; return 1; }
    sleep 0.1
  done
  echo "kubernetes: node $NODE_NAME not Ready after 60 s (see $N/logs/kubelet.log)" >&2; return 1
}

down() {
  stop kubelet
  # remove pod sandboxes while containerd still runs (stops containers, tears down CNI)
  if [ -S "$SOCK" ] && alive containerd; then
    local t c
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 0.5
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1 || true; done
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  stop containerd; stop ns
  # shims of our containerd (matched by our socket path, never Docker's) exit once their tasks are gone
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT" /sys/fs/cgroup/"$CGROUP_ROOT"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # containerd 1.6 hard-codes shim sockets under /run/containerd/{s,fifo}: removed only when empty
  rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd 2>/dev/null || true
  rm -f "$N/ctrd/containerd.sock" "$N/ctrd/containerd.sock.ttrpc"
  "${KUBECTL[@]}" delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}

case ${1:-} in
  up) up ;;
  down) down ;;
  images) images ;;
  *) echo "usage: $0 up|down|images" >&2; exit 2 ;;
esac
