#!/usr/bin/env bash
# The bare kwok binary has no built-in stages ("no stages found"; the defaults live in kwokctl): concatenate
# the module's own "fast" node and pod stages into $KWOK_DIR/stages.yaml. Skipped when the file exists.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/env.sh"
out=$KWOK_DIR/stages.yaml
[ -s "$out" ] && exit 0
dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  echo ---; cat "$dir/$f"
done > "$out.tmp"
mv "$out.tmp" "$out"
