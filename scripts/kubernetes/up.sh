#!/usr/bin/env bash
# Start the local cluster on 127.0.0.1 (idempotent: what runs and answers is left alone):
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler; kwok with one simulated node (kwok-node-0,
#   tainted blissful.io/simulated:NoSchedule, so only pods that tolerate it land there); the Argo Rollouts
#   controller and its CRDs; a real node "localhost" (kubelet + a private containerd, see node.sh).
# Every process is started in its own session and recorded in $K8S_RUN/pids/NAME.pid; down.sh stops them by PID.
#   BLISSFUL_K8S_NODE=0   skip the real node      BLISSFUL_K8S_ARGO=0   skip Argo Rollouts
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
for d in "$K8S_DIR" "$KWOK_DIR" "$ETCD_DIR" "$DEB_DIR"; do
  [ -f "$d/.done" ] || { echo "kubernetes: $d is not built: run scripts/kubernetes/build.sh (or ./scripts/setup.sh kubernetes)" >&2; exit 1; }
done
mkdir -p "$K8S_RUN/pids" "$K8S_RUN/logs"
"$here/pki.sh"
P=$K8S_RUN/pki; KC=$K8S_RUN/kc; B=$K8S_DIR/bin
KUBECTL=("$B/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
t0=$(date +%s.%N)
say() { printf '    [%5.1f s] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }
alive() { local f=$K8S_RUN/pids/$1.pid; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }
start() { # name command...
  local name=$1; shift
  setsid nohup "$@" >"$K8S_RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$K8S_RUN/pids/$name.pid"
}
wait_for() { # what seconds command...
  local what=$1 limit=$2 i; shift 2
  for ((i = 0; i < limit * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "kubernetes: $what did not come up within $limit s; see $K8S_RUN/logs/" >&2; return 1
}
api_ready() { curl -fsS --max-time 2 --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "https://127.0.0.1:$API_PORT/readyz"; }

# --- control plane: etcd + apiserver (restarted together, on a fresh etcd, if either is gone) ----------------
if alive etcd && alive kube-apiserver && api_ready >/dev/null 2>&1; then
  say "control plane already running (https://127.0.0.1:$API_PORT)"
else
  "$here/down.sh" --control-plane-only >/dev/null 2>&1 || true
  rm -rf "$K8S_RUN/etcd"
  start etcd "$ETCD_DIR/bin/etcd" --name blissful --data-dir "$K8S_RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "blissful=http://127.0.0.1:$((ETCD_PORT + 1))" --quota-backend-bytes $((2 * 1024 * 1024 * 1024)) --unsafe-no-fsync
  wait_for etcd 20 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
  start kube-apiserver "$B/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" --endpoint-reconciler-type none \
    --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" --client-ca-file "$P/ca.crt" \
    --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$P/ca.crt" \
    --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --kubelet-preferred-address-types Hostname,InternalIP,ExternalIP --cert-dir "$K8S_RUN/apiserver-certs"
  wait_for kube-apiserver 60 api_ready
  say "kube-apiserver ready (https://127.0.0.1:$API_PORT)"
fi
alive kube-controller-manager || start kube-controller-manager "$B/kube-controller-manager" \
  --kubeconfig "$KC/controller-manager.kubeconfig" --authentication-kubeconfig "$KC/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$KC/controller-manager.kubeconfig" --bind-address 127.0.0.1 --secure-port 0 \
  --leader-elect=false --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" \
  --use-service-account-credentials=true --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --node-monitor-grace-period 20s
alive kube-scheduler || start kube-scheduler "$B/kube-scheduler" --kubeconfig "$KC/scheduler.kubeconfig" \
  --authentication-kubeconfig "$KC/scheduler.kubeconfig" --authorization-kubeconfig "$KC/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

# --- kwok: one simulated node ---------------------------------------------------------------------------------
# Debian's etcd 3.4 lacks RequestWatchProgress: kwok's client-go (v0.36) would ask for streaming watch-lists and get
# no pods at all ("the required storage feature RequestWatchProgress is disabled"); plain list+watch works.
alive kwok || KUBE_FEATURE_WatchListClient=false start kwok "$KWOK_DIR/bin/kwok" --kubeconfig "$KUBECONFIG_ADMIN" --config "$KWOK_DIR/stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --cidr 10.244.0.0/16 --node-lease-duration-seconds 40
"${KUBECTL[@]}" apply -f - >/dev/null <<Y
apiVersion: v1
kind: Node
metadata:
  name: $KWOK_NODE
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: $KWOK_NODE, type: kwok, blissful.io/simulated: "true"}
spec:
  taints: [{key: blissful.io/simulated, value: "true", effect: NoSchedule}]
Y
wait_for "kwok node $KWOK_NODE" 30 "${KUBECTL[@]}" wait --for=condition=Ready "node/$KWOK_NODE" --timeout=1s
say "kwok node $KWOK_NODE Ready"

# --- Argo Rollouts ----------------------------------------------------------------------------------------------
if [ "${BLISSFUL_K8S_ARGO:-1}" != 0 ] && [ -f "$ARGO_DIR/.done" ]; then
  if ! alive rollouts-controller; then
    for f in "$ARGO_DIR"/crds/*-crd.yaml; do "${KUBECTL[@]}" apply --server-side --force-conflicts -f "$f" >/dev/null; done
    wait_for "Argo Rollouts CRDs" 30 "${KUBECTL[@]}" wait --for=condition=Established --timeout=2s \
      crd/rollouts.argoproj.io crd/analysisruns.argoproj.io crd/analysistemplates.argoproj.io
    KUBE_FEATURE_WatchListClient=false start rollouts-controller "$ARGO_DIR/bin/rollouts-controller" --kubeconfig "$KUBECONFIG_ADMIN" --leader-elect=false \
      --metricsPort "$ARGO_METRICS_PORT" --healthzPort "$ARGO_HEALTHZ_PORT"
    wait_for "Argo Rollouts controller" 60 curl -fsS "http://127.0.0.1:$ARGO_HEALTHZ_PORT/healthz"
  fi
  say "Argo Rollouts controller $ARGO_VERSION running"
fi

# --- the real node ------------------------------------------------------------------------------------------------
if [ "${BLISSFUL_K8S_NODE:-1}" != 0 ]; then
  "$here/node.sh" up
  say "real node $NODE_NAME Ready"
fi
wait_for "the default ServiceAccount" 30 "${KUBECTL[@]}" get serviceaccount default -n default
say "cluster ready: export KUBECONFIG=$KUBECONFIG_ADMIN"
