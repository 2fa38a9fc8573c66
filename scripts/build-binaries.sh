#!/usr/bin/env bash
# Builds the binaries the local cluster and the tests run into a cache folder: kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok, etcd, helm, consul and jaeger with Go from their
# modules (the way envtest ships them), and the tests' Eureka server (a Spring Boot jar) with Maven from
# e2e/eureka-server. Never committed; rebuilt only when missing. Not in the default set:
# pilot-discovery (istiod, bench/pilot's peer), built only when named. `npm test` runs this
# (through scripts/test-setup.sh) before the first test; `npm start` runs it when a binary is missing. Progress goes to stderr: a line per step, and a line a minute
# while Go works; Go's own output is kept in a log that is printed if the step fails.
#   scripts/build-binaries.sh [CACHE_DIR] [kube-apiserver|kube-controller-manager|kube-scheduler|kwok|etcd|helm|consul|jaeger|eureka|grpc-go-client|pilot-discovery ...]
# Versions can be overridden with KUBE_VERSION (the three Kubernetes binaries), KWOK_VERSION,
# ETCD_VERSION, HELM_VERSION, CONSUL_VERSION, JAEGER_VERSION, EUREKA_VERSION (the Spring Cloud release train
# whose Eureka server is built), GRPC_GO_VERSION (google.golang.org/grpc, for grpc-go-client) and
# ISTIO_VERSION (istio.io/istio, for pilot-discovery).
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CONSUL_VERSION=${CONSUL_VERSION:-v1.14.11}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
JAEGER_VERSION=${JAEGER_VERSION:-v1.76.0}
EUREKA_VERSION=${EUREKA_VERSION:-2025.1.4}
# Also the require in e2e/grpc-go-client/go.mod (lib/local-cluster/binaries.test.ts checks they agree).
GRPC_GO_VERSION=${GRPC_GO_VERSION:-v1.85.0}
# istio.io/istio has no tags the module proxy lists: the pseudo-version of commit eed52ebb66ad.
ISTIO_VERSION=${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${ISTIO_LITE_CACHE:-$root/.cache/bin}}
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(etcd helm kube-apiserver kube-controller-manager kube-scheduler kwok consul jaeger eureka grpc-go-client)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
started=$(date +%s)
log() { printf '[build-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# step WHAT CMD...: runs CMD with its output in a log, a progress line a minute; the log on failure.
step() {
  local what=$1; shift
  local out="$work/step.log"
  "$@" >"$out" 2>&1 &
  local pid=$! t=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5; t=$((t + 5))
    if [ $((t % 60)) -eq 0 ]; then log "  … $what ($((t / 60)) min; $(( ($(date +%s) - started) / 60 )) min in all)"; fi
  done
  if ! wait "$pid"; then
    log "$what failed:"; cat "$out" >&2; return 1
  fi
}

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  [ -x "$out" ] && { log "etcd $ETCD_VERSION cached"; return; }
  log "etcd $ETCD_VERSION: downloading modules"
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
  step "downloading etcd's modules" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  step "resolving etcd's modules" go mod tidy
  log "etcd $ETCD_VERSION: compiling"
  step "compiling etcd" go build -trimpath -o "$out.tmp" .
  mv "$out.tmp" "$out"
  log "etcd done"
}

build_helm() {
  local out="$cache/helm-$HELM_VERSION"
  [ -x "$out" ] && { log "helm $HELM_VERSION cached"; return; }
  log "helm $HELM_VERSION: downloading modules"
  local d="$work/helm"; mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/helm >/dev/null 2>&1
  step "downloading helm's modules" go get "helm.sh/helm/v3@$HELM_VERSION"
  # As helm's own release build does: the default Kubernetes version of `helm template` and
  # `helm lint` (no cluster to ask) is one minor above the client-go it was built with. Without
  # these, helm assumes Kubernetes 1.20.
  local cg major minor
  cg=$(go list -m -f '{{.Version}}' k8s.io/client-go)
  cg=${cg#v}
  major=$(( ${cg%%.*} + 1 ))
  minor=${cg#*.}; minor=${minor%%.*}
  local ld="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ld="$ld -X $p.k8sVersionMajor=$major -X $p.k8sVersionMinor=$minor"
  done
  log "helm $HELM_VERSION: compiling (default Kubernetes version $major.$minor)"
  step "compiling helm" go build -trimpath -ldflags "$ld" -o "$out.tmp" helm.sh/helm/v3/cmd/helm
  mv "$out.tmp" "$out"
  log "helm done"
}

# kube-apiserver, kube-controller-manager and kube-scheduler come from one wrapper module that
# requires k8s.io/kubernetes (its staging replaces turned into the published k8s.io/* versions),
# set up once per run: the second and third binaries reuse its modules and Go's build cache.
kube_module() {
  local d="$work/kube"
  [ -f "$d/tools.go" ] && { cd "$d"; return; }
  log "Kubernetes $KUBE_VERSION: downloading modules (the longest step)"
  mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/kube >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  local staging="v0.${KUBE_VERSION#v1.}"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` replace becomes `k8s.io/x => k8s.io/x@v0.Y.Z`.
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")
  for m in $mods; do go mod edit "-replace=$m=$m@$staging"; done
  go mod edit "-require=k8s.io/kubernetes@$KUBE_VERSION"
  cat > tools.go.tmp <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  mv tools.go.tmp tools.go
  step "resolving Kubernetes' modules" bash -c 'go mod tidy -e || true'
}

# build_kube NAME: k8s.io/kubernetes/cmd/NAME at KUBE_VERSION.
build_kube() {
  local name=$1
  local out="$cache/$name-$KUBE_VERSION"
  [ -x "$out" ] && { log "$name $KUBE_VERSION cached"; return; }
  kube_module
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  log "$name $KUBE_VERSION: compiling"
  step "compiling $name" go build -trimpath -o "$out.tmp" \
    -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
    "k8s.io/kubernetes/cmd/$name"
  mv "$out.tmp" "$out"
  log "$name done"
}

# kwok simulates the local cluster's nodes and their pods' lifecycles; it installs as it is.
build_kwok() {
  local out="$cache/kwok-$KWOK_VERSION"
  [ -x "$out" ] && { log "kwok $KWOK_VERSION cached"; return; }
  log "kwok $KWOK_VERSION: downloading modules and compiling"
  local d="$work/kwok"; mkdir -p "$d"
  step "building kwok" env GOBIN="$d" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$d/kwok" "$out.tmp"
  mv "$out.tmp" "$out"
  log "kwok done"
}

# Consul 1.14 is the last MPL-2.0 line. `go install github.com/hashicorp/consul@v1.14.11` is
# refused (its go.mod has replace directives), so a wrapper module requires it, with the one
# replace that matters outside Consul's own tree (the others point at its submodules' folders,
# whose required versions are used instead).
build_consul() {
  local out="$cache/consul-$CONSUL_VERSION"
  [ -x "$out" ] && { log "consul $CONSUL_VERSION cached"; return; }
  log "consul $CONSUL_VERSION: downloading modules"
  local d="$work/consul"; mkdir -p "$d"; cd "$d"
  cat > go.mod <<GOMOD
module istio-lite.local/consul

go 1.20

require github.com/hashicorp/consul $CONSUL_VERSION

replace launchpad.net/gocheck => github.com/go-check/check v0.0.0-20140225173054-eb6ee6f84d0a
GOMOD
  step "downloading consul's modules" go list -deps github.com/hashicorp/consul
  log "consul $CONSUL_VERSION: compiling"
  step "compiling consul" go build -trimpath -o "$out.tmp" github.com/hashicorp/consul
  mv "$out.tmp" "$out"
  log "consul done"
}

# Jaeger (the tracing tests' collector and query API) is cmd/jaeger, its OpenTelemetry-collector
# based binary. Its go.mod has replace directives, so it is built as a tool of a wrapper module
# (`go get -tool`), which resolves its requirements as a dependency's. The largest compile here
# (about 40 minutes on 2 cores with an empty build cache).
build_jaeger() {
  local out="$cache/jaeger-$JAEGER_VERSION"
  [ -x "$out" ] && { log "jaeger $JAEGER_VERSION cached"; return; }
  log "jaeger $JAEGER_VERSION: downloading modules"
  local d="$work/jaeger"; mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/jaeger >/dev/null 2>&1
  step "downloading jaeger's modules" go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION"
  log "jaeger $JAEGER_VERSION: compiling"
  step "compiling jaeger" go build -trimpath -ldflags "-s -w" -o "$out.tmp" \
    github.com/jaegertracing/jaeger/cmd/jaeger
  mv "$out.tmp" "$out"
  log "jaeger done"
}

# istiod (pilot-discovery) is the peer bench/pilot measures Pilot against (`--peer istiod`); it
# is NOT in the default set (about 19 minutes and 2.8 GB of modules and build cache on 2 cores
# from empty caches): only that bench asks for it, by name. istio.io/istio's go.mod has no replace
# directives, so a wrapper module requires it. The Istio CRDs istiod needs (its chart's
# crd-all.gen.yaml) are copied from the same module version beside it.
build_istiod() {
  local out="$cache/pilot-discovery-$ISTIO_VERSION"
  local crds="$cache/istio-crds-$ISTIO_VERSION.yaml"
  [ -x "$out" ] && [ -f "$crds" ] && { log "pilot-discovery $ISTIO_VERSION cached"; return; }
  log "pilot-discovery (istiod) $ISTIO_VERSION: downloading modules"
  local d="$work/istiod"; mkdir -p "$d"; cd "$d"
  go mod init istio-lite.local/istiod >/dev/null 2>&1
  step "downloading istio's modules" go get -tool "istio.io/istio/pilot/cmd/pilot-discovery@$ISTIO_VERSION"
  local src
  src=$(go list -m -f '{{.Dir}}' istio.io/istio)
  cp "$src/manifests/charts/base/files/crd-all.gen.yaml" "$crds.tmp"
  chmod 644 "$crds.tmp" # the module cache is read-only
  log "pilot-discovery $ISTIO_VERSION: compiling (the longest step)"
  step "compiling pilot-discovery" go build -trimpath -ldflags "-s -w" -o "$out.tmp" \
    istio.io/istio/pilot/cmd/pilot-discovery
  mv "$crds.tmp" "$crds"
  mv "$out.tmp" "$out"
  log "pilot-discovery done"
}

# The Eureka server is a small Spring Boot app in the repository (e2e/eureka-server), built with
# Maven (~/.m2 as its repository). Its cache name carries a hash of its pom.xml and sources, so an
# edit there builds it again.
eureka_src=$root/e2e/eureka-server
eureka_hash() {
  (
    cd "$eureka_src"
    { echo pom.xml; find src -type f; } | LC_ALL=C sort | while read -r f; do
      printf '%s\n' "$f"; cat "$f"
    done
  ) | sha256sum | cut -c1-8
}

build_eureka() {
  if [ ! -f "$eureka_src/pom.xml" ]; then
    echo "build-binaries: eureka is built from e2e/eureka-server, which is not here" >&2; return 1
  fi
  local out
  out="$cache/eureka-server-$EUREKA_VERSION-$(eureka_hash).jar"
  [ -f "$out" ] && { log "eureka server (Spring Cloud $EUREKA_VERSION) cached"; return; }
  if ! command -v mvn >/dev/null 2>&1; then
    echo "build-binaries: eureka needs Maven and a JDK 17 (e.g. apt-get install -y maven openjdk-17-jdk-headless)" >&2
    return 1
  fi
  log "eureka server (Spring Cloud $EUREKA_VERSION): building with Maven"
  local d="$work/eureka"; mkdir -p "$d"
  cp -R "$eureka_src/pom.xml" "$eureka_src/src" "$d/"; cd "$d"
  step "building the Eureka server" mvn -B -ntp package -DskipTests "-Dspring-cloud.version=$EUREKA_VERSION"
  cp target/eureka-server.jar "$out.tmp"
  mv "$out.tmp" "$out"
  log "eureka done"
}

# The grpc-go client of the wire-compatibility tests and the gRPC benchmarks' load is a small
# program in the repository (e2e/grpc-go-client: go.mod, go.sum, main.go), built with grpc-go
# at GRPC_GO_VERSION. Its cache name carries a hash of those files, so an edit builds it again.
grpc_go_src=$root/e2e/grpc-go-client
grpc_go_hash() {
  (
    cd "$grpc_go_src"
    find . -maxdepth 1 -type f -printf '%P\n' | LC_ALL=C sort | while read -r f; do
      printf '%s\n' "$f"; cat "$f"
    done
  ) | sha256sum | cut -c1-8
}

build_grpc_go_client() {
  if [ ! -f "$grpc_go_src/go.mod" ]; then
    echo "build-binaries: grpc-go-client is built from e2e/grpc-go-client, which is not here" >&2; return 1
  fi
  local out
  out="$cache/grpc-go-client-$GRPC_GO_VERSION-$(grpc_go_hash)"
  [ -x "$out" ] && { log "grpc-go-client (grpc-go $GRPC_GO_VERSION) cached"; return; }
  log "grpc-go-client (grpc-go $GRPC_GO_VERSION): downloading modules and compiling"
  local d="$work/grpc-go-client"; mkdir -p "$d"
  cp "$grpc_go_src"/go.mod "$grpc_go_src"/go.sum "$grpc_go_src"/*.go "$d/"; cd "$d"
  step "resolving grpc-go $GRPC_GO_VERSION" go get "google.golang.org/grpc@$GRPC_GO_VERSION"
  step "compiling grpc-go-client" go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
  mv "$out.tmp" "$out"
  log "grpc-go-client done"
}

for w in "${wanted[@]}"; do
  case "$w" in
    etcd) build_etcd ;;
    helm) build_helm ;;
    kube-apiserver | kube-controller-manager | kube-scheduler) build_kube "$w" ;;
    kwok) build_kwok ;;
    consul) build_consul ;;
    jaeger) build_jaeger ;;
    eureka) build_eureka ;;
    grpc-go-client) build_grpc_go_client ;;
    pilot-discovery) build_istiod ;;
    *) echo "build-binaries: unknown binary '$w' (want etcd, helm, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, consul, jaeger, eureka, grpc-go-client or pilot-discovery)" >&2; exit 2 ;;
  esac
done
log "all built in $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s"
