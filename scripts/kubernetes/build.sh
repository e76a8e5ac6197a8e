#!/usr/bin/env bash
# Build (once) the binaries of the local cluster into $BLISSFUL_K8S_CACHE, each component in a directory
# keyed by its version hash (see env.sh); a component whose directory holds a `.done` stamp is skipped.
#   k8s:    kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl v1.34.4 from the
#           k8s.io/kubernetes module, its ./staging replaces rewritten to the published k8s.io/* v0.34.4
#           modules (`go install` refuses a module with replace directives); pause from its pause.c
#   kwok:   go install sigs.k8s.io/kwok/cmd/kwok
#   argo:   Argo Rollouts' controller from a copy of its module, listen address patched to 127.0.0.1; its CRDs
#   etcd:   a wrapper main around etcdmain.Main (its server module has replace directives, so no `go install`)
#   debs:   Debian's CNI plugins, apt-get download + dpkg -x (nothing installed on the host)
# Go builds run under `nice -n 10` (NICE=... to change): the machine stays usable meanwhile.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
NICE=${NICE:-nice -n 10}
mkdir -p "$K8S_CACHE" "$GOMODCACHE" "$GOCACHE"
log() { printf '    [%s] %s\n' "$(date +%T)" "$*"; }
have() { [ -f "$1/.done" ]; }
timed() { local t0=$SECONDS; "$@"; log "  ... $((SECONDS - t0)) s"; }
need_go() { command -v go >/dev/null || { echo "kubernetes: no Go toolchain on PATH (needed once, to build the binaries)" >&2; exit 1; }; }

module_dir() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }

build_k8s() {
  have "$K8S_DIR" && { log "k8s $K8S_VERSION: cached in $K8S_DIR"; return; }
  need_go
  local out=$K8S_DIR.tmp src staging minor ldf c
  rm -rf "$out"; mkdir -p "$out/bin"
  src=$out/src; staging=v0${K8S_VERSION#v1}; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  log "k8s $K8S_VERSION: downloading the module"
  cp -r "$(module_dir "k8s.io/kubernetes@$K8S_VERSION")" "$src"; chmod -R u+w "$src"
  rm -f "$src/go.work" "$src/go.work.sum"
  # the module zip has no ./staging (nested modules are cut out): use the published k8s.io/* modules
  sed -i -E "s#^(\s*)(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\$#\1\2 => \2 $staging#" "$src/go.mod"
  if grep -q '=> ./staging' "$src/go.mod"; then echo "kubernetes: staging replaces left in go.mod" >&2; exit 1; fi
  ldf="-s -w"
  for v in "gitVersion=$K8S_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean; do
    ldf="$ldf -X k8s.io/component-base/version.$v -X k8s.io/client-go/pkg/version.$v"
  done
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
    log "k8s: building $c"
    (cd "$src" && timed $NICE go build -mod=mod -trimpath -ldflags "$ldf" -o "$out/bin/$c" "./cmd/$c")
  done
  log "k8s: building pause (static, from the module's build/pause/linux/pause.c)"
  gcc -Os -static -Wall -DVERSION=3.10-blissful -o "$out/bin/pause" "$src/build/pause/linux/pause.c"
  rm -rf "$src"; touch "$out/.done"; rm -rf "$K8S_DIR"; mv "$out" "$K8S_DIR"
}

build_kwok() {
  have "$KWOK_DIR" && { log "kwok $KWOK_VERSION: cached"; return; }
  need_go
  local out=$KWOK_DIR.tmp; rm -rf "$out"; mkdir -p "$out/bin"
  log "kwok $KWOK_VERSION: building"
  timed env GOBIN="$out/bin" $NICE go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  touch "$out/.done"; rm -rf "$KWOK_DIR"; mv "$out" "$KWOK_DIR"
}

build_argo() {
  have "$ARGO_DIR" && { log "argo-rollouts $ARGO_VERSION: cached"; return; }
  need_go
  local out=$ARGO_DIR.tmp src; rm -rf "$out"; mkdir -p "$out/bin" "$out/crds"; src=$out/src
  log "argo-rollouts $ARGO_VERSION: downloading the module"
  cp -r "$(module_dir "github.com/argoproj/argo-rollouts@$ARGO_VERSION")" "$src"; chmod -R u+w "$src"
  # its metrics/healthz listeners are hard-coded to 0.0.0.0: keep them on loopback
  sed -i 's/"0.0.0.0:%d"/"127.0.0.1:%d"/' "$src/controller/controller.go"
  grep -q '"127.0.0.1:%d"' "$src/controller/controller.go" || { echo "kubernetes: Argo listen-address patch did not apply" >&2; exit 1; }
  log "argo-rollouts: building rollouts-controller"
  (cd "$src" && timed $NICE go build -trimpath -ldflags "-s -w" -o "$out/bin/rollouts-controller" ./cmd/rollouts-controller)
  cp "$src"/manifests/crds/*-crd.yaml "$out/crds/"
  rm -rf "$src"; touch "$out/.done"; rm -rf "$ARGO_DIR"; mv "$out" "$ARGO_DIR"
}

build_etcd() {
  have "$ETCD_DIR" && { log "etcd $ETCD_VERSION: cached"; return; }
  need_go
  local out=$ETCD_DIR.tmp; rm -rf "$out"; mkdir -p "$out/bin" "$out/src"
  log "etcd $ETCD_VERSION: building (wrapper main around etcdmain.Main)"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' \
    > "$out/src/main.go"
  printf 'module local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$out/src/go.mod"
  (cd "$out/src" && go mod tidy >/dev/null 2>&1 && timed $NICE go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" .)
  rm -rf "$out/src"; touch "$out/.done"; rm -rf "$ETCD_DIR"; mv "$out" "$ETCD_DIR"
}

fetch_debs() {
  have "$DEB_DIR" && { log "debs ($CNI_DEB): cached"; return; }
  local out=$DEB_DIR.tmp; rm -rf "$out"; mkdir -p "$out/debs" "$out/root"
  log "debs: apt-get download $CNI_DEB"
  (cd "$out/debs" && apt-get download -q "$CNI_DEB" >/dev/null 2>&1) || {
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$out/debs" && apt-get download -q "$CNI_DEB" >/dev/null)
  }
  for d in "$out"/debs/*.deb; do dpkg -x "$d" "$out/root"; done
  [ -x "$out/root/usr/lib/cni/bridge" ] || { echo "kubernetes: the CNI bridge plugin is missing from $CNI_DEB" >&2; exit 1; }
  rm -rf "$out/debs"; touch "$out/.done"; rm -rf "$DEB_DIR"; mv "$out" "$DEB_DIR"
}
fetch_debs
build_k8s
build_etcd
build_kwok
build_argo
log "binaries ready under $K8S_CACHE: $(du -sch "$K8S_DIR" "$ETCD_DIR" "$KWOK_DIR" "$ARGO_DIR" "$DEB_DIR" 2>/dev/null | tail -1 | cut -f1)"
