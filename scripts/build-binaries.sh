#!/usr/bin/env bash
# Builds the local cluster's binaries (kube-apiserver, etcd, helm) with Go from their modules into a
# cache folder, the way envtest ships them. Never committed; rebuilt only when missing.
#   scripts/build-binaries.sh [CACHE_DIR] [kube-apiserver|etcd|helm ...]
# Versions can be overridden with KUBE_VERSION, ETCD_VERSION, HELM_VERSION.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${ISTIO_LITE_CACHE:-$root/.cache/bin}}
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(etcd helm kube-apiserver)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
log() { printf '[build-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  [ -x "$out" ] && { log "etcd $ETCD_VERSION cached"; return; }
  log "building etcd $ETCD_VERSION"
  local d="$work/etcd"; mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/etcd >/dev/null 2>&1
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  go mod tidy >/dev/null
  go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out"
  log "etcd done"
}

build_helm() {
  local out="$cache/helm-$HELM_VERSION"
  [ -x "$out" ] && { log "helm $HELM_VERSION cached"; return; }
  log "building helm $HELM_VERSION"
  GOBIN="$work/helm-bin" go install -trimpath \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$work/helm-bin/helm" "$out"
  log "helm done"
}

build_kube_apiserver() {
  local out="$cache/kube-apiserver-$KUBE_VERSION"
  [ -x "$out" ] && { log "kube-apiserver $KUBE_VERSION cached"; return; }
  log "building kube-apiserver $KUBE_VERSION (several minutes the first time)"
  local d="$work/kube"; mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/kube >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  local staging="v0.${KUBE_VERSION#v1.}"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` replace becomes `k8s.io/x => k8s.io/x@v0.Y.Z`.
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")
  for m in $mods; do go mod edit "-replace=$m=$m@$staging"; done
  go mod edit "-require=k8s.io/kubernetes@$KUBE_VERSION"
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  log "resolving modules"
  go mod tidy -e >/dev/null 2>&1 || true
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  log "compiling"
  go build -trimpath -o "$out.tmp" \
    -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "$out.tmp" "$out"
  log "kube-apiserver done"
}

for w in "${wanted[@]}"; do
  case "$w" in
    etcd) build_etcd ;;
    helm) build_helm ;;
    kube-apiserver) build_kube_apiserver ;;
    *) echo "build-binaries: unknown binary '$w' (want etcd, helm or kube-apiserver)" >&2; exit 2 ;;
  esac
done
