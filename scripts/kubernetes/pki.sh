#!/usr/bin/env bash
# A throwaway PKI for the loopback-only cluster (openssl): CA, apiserver serving cert, client certs for admin,
# controller-manager, scheduler, the apiserver's kubelet client and the node; the service-account key pair;
# then one kubeconfig per identity. Skipped when the CA exists.  Usage: pki.sh  (paths from env.sh)
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/env.sh"
P=$K8S_RUN/pki; KC=$K8S_RUN/kc
mkdir -p "$P" "$KC"; chmod 700 "$P"
if [ ! -f "$P/ca.crt" ]; then
  cd "$P"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=blissful-k8s-ca" 2>/dev/null
  printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=serverAuth \
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" > server.ext
  printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=clientAuth > client.ext
  sign() { # name subject extfile
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3650 -extfile "$3" 2>/dev/null
    rm -f "$1.csr"
  }
  sign apiserver "/CN=kube-apiserver" server.ext
  # the kubelet serves on localhost:10250 (node name "localhost")
  printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=serverAuth \
    "subjectAltName=IP:127.0.0.1,DNS:localhost" > kubelet-server.ext
  sign kubelet-server "/CN=localhost" kubelet-server.ext
  sign admin "/O=system:masters/CN=blissful-admin" client.ext
  sign controller-manager "/CN=system:kube-controller-manager" client.ext
  sign scheduler "/CN=system:kube-scheduler" client.ext
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client.ext
  sign node "/O=system:nodes/CN=system:node:$NODE_NAME" client.ext
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi
for n in admin controller-manager scheduler node; do
  cat > "$KC/$n.kubeconfig" <<Y
apiVersion: v1
kind: Config
clusters:
- name: blissful-local
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$P/ca.crt"}
users:
- name: $n
  user: {client-certificate: "$P/$n.crt", client-key: "$P/$n.key"}
contexts:
- name: blissful-local
  context: {cluster: blissful-local, user: $n}
current-context: blissful-local
Y
done
