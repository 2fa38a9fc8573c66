#!/usr/bin/env bash
# istio-lite end to end on kind (needs Docker, kind, kubectl, Helm 3 and the internet for images).
#
#   e2e/kind/run.sh            run the suite
#   e2e/kind/run.sh --dry-run  print every command it would run, run nothing
#
# Helm: the suite expects Helm v3.22, the release scripts/build-binaries.sh builds; it uses that
# build from .cache/bin when present (or $HELM), else `helm` on PATH. Another Helm 3 release gets a
# warning; Helm 4 is refused (the suite is written against Helm 3's flags and --wait). The chart
# goes in with the ingress gateway as a NodePort Service: kind never gives a LoadBalancer an
# address, and Helm 3's --wait waits for one.
#
# Creates a kind cluster, builds and loads both images, installs the chart with --wait, labels a
# namespace, deploys examples/ and a client, and checks: every pod injected; traffic from a client
# to a server flows through both sidecars (Envoy stats); mutual TLS on when the mesh enables it; a
# namespace not labelled stays uninjected; a new ingress gateway stays unready while Pilot is down;
# pods take their certificates by CSR after `ca.podCertificates=csr`. Exports logs and deletes the
# cluster on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cluster=${KIND_CLUSTER_NAME:-istio-lite-e2e}
tag=${IMAGE_TAG:-0.1.0}
logs=${E2E_LOG_DIR:-$root/.local/kind-logs}
dry=0

for arg in "$@"; do
  case "$arg" in
    --dry-run) dry=1 ;;
    -h | --help)
      sed -n '2,17p' "$0"
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument '$arg' (want --dry-run)" >&2
      exit 2
      ;;
  esac
done

run() {
  if [ "$dry" = 1 ]; then
    printf '+ %s\n' "$*"
  else
    printf '+ %s\n' "$*" >&2
    "$@"
  fi
}

fail() {
  echo "e2e/kind: FAIL: $*" >&2
  exit 1
}

# The Helm release scripts/build-binaries.sh pins (vX.Y.Z) and its minor line (vX.Y).
# shellcheck disable=SC2016 # a literal ${…} in the pattern
helm_release=$(sed -n 's/^HELM_VERSION=\${HELM_VERSION:-\(v[0-9.]*\)}$/\1/p' "$root/scripts/build-binaries.sh")
helm_pinned=${helm_release%.*}
helm=${HELM:-$root/.cache/bin/helm-$helm_release}
[ -x "$helm" ] || helm=helm

if [ "$dry" = 0 ]; then
  for tool in docker kind kubectl "$helm"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "e2e/kind: skipped: '$tool' is not installed (this suite needs Docker, kind, kubectl and helm)" >&2
      exit 0
    fi
  done
  if ! docker info >/dev/null 2>&1; then
    echo "e2e/kind: skipped: no Docker engine is running" >&2
    exit 0
  fi
  helm_version=$("$helm" version --template '{{.Version}}')
  case "$helm_version" in
    "$helm_pinned".*) ;;
    v3.*) echo "e2e/kind: warning: Helm $helm_version; the suite expects $helm_pinned (bash scripts/build-binaries.sh .cache/bin helm)" >&2 ;;
    *) fail "Helm $helm_version: the suite needs Helm 3 ($helm_pinned; bash scripts/build-binaries.sh .cache/bin helm)" ;;
  esac
fi

cleanup() {
  run mkdir -p "$logs"
  run kind export logs "$logs" --name "$cluster" || true
  run kind delete cluster --name "$cluster" || true
}
if [ "$dry" = 0 ]; then
  trap cleanup EXIT
fi

k() { run kubectl --context "kind-$cluster" "$@"; }

# 1. Cluster and images.
run kind create cluster --config "$here/cluster.yaml" --name "$cluster" --wait 120s
run docker build -t "istio-lite:$tag" -f "$root/Dockerfile" "$root"
run docker build -t "istio-lite-proxy:$tag" -f "$root/Dockerfile.proxy" "$root"
run kind load docker-image "istio-lite:$tag" "istio-lite-proxy:$tag" --name "$cluster"

# 2. The chart, mutual TLS on.
run "$helm" install istio-lite "$root/charts/istio-lite" --kube-context "kind-$cluster" \
  --namespace istio-system --create-namespace --wait --timeout 5m \
  --set global.tag="$tag" --set mesh.authPolicy=MUTUAL_TLS \
  --set gateways.ingress.serviceType=NodePort

# 3. Workloads: the examples in a labelled namespace, a client, and an unlabelled namespace.
k create namespace demo
k label namespace demo istio-injection=enabled
k apply -n demo -f "$root/examples/"
k create namespace plain
k run client -n demo --image=curlimages/curl:8.10.1 --command -- sleep 3600
k run bystander -n plain --image=curlimages/curl:8.10.1 --command -- sleep 3600
# Wait on the workloads, which exist once applied, not on pods by selector: a `kubectl wait -l`
# that runs before the controllers made the pods fails with "no matching resources found".
for w in deployment/productpage-v1 deployment/reviews-v1 deployment/reviews-v2 deployment/ratings-v1 \
  statefulset/mongodb; do
  k rollout status -n demo "$w" --timeout 5m
done
k wait -n demo --for=condition=Ready pod/client --timeout 2m
k wait -n plain --for=condition=Ready pod/bystander --timeout 2m

if [ "$dry" = 1 ]; then
  echo "+ (checks: injection, traffic through both sidecars, mTLS, uninjected namespace, gateway waits for Pilot, CSR certificates)"
  exit 0
fi

# 4. Checks.
ctx=(--context "kind-$cluster")

# eventually SECONDS WHAT CMD...: retry CMD every 2 s until it succeeds, or fail naming WHAT.
eventually() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 2
  done
}

injects_token() {
  kubectl "${ctx[@]}" run csr-probe -n demo --image=curlimages/curl:8.10.1 --restart=Never \
    --dry-run=server -o jsonpath='{.spec.volumes[*].name}' -- sleep 1 | grep -qw istio-token
}
for pod in $(kubectl "${ctx[@]}" get pods -n demo -l 'sidecar.istio.io/inject!=false' -o name); do
  names=$(kubectl "${ctx[@]}" get -n demo "$pod" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}')
  case " $names " in
    *" istio-proxy "*) ;;
    *) fail "$pod has no istio-proxy ($names)" ;;
  esac
done

kubectl "${ctx[@]}" exec -n demo client -c client -- curl -sf http://productpage.demo:9080/ >/dev/null ||
  fail "client could not reach productpage through the mesh"

stat() { # pod container stat-prefix
  kubectl "${ctx[@]}" exec -n demo "$1" -c istio-proxy -- \
    node -e "fetch('http://127.0.0.1:15000/stats?filter=$2').then(r=>r.text()).then(t=>process.stdout.write(t))"
}
client_out=$(stat client 'cluster.outbound.*productpage.*upstream_rq_total')
echo "$client_out" | grep -Eq ': [1-9]' || fail "client sidecar saw no requests to productpage: $client_out"
server=$(kubectl "${ctx[@]}" get pods -n demo -l app=productpage -o jsonpath='{.items[0].metadata.name}')
server_out=$(stat "$server" 'inbound.*downstream_rq_total')
echo "$server_out" | grep -Eq ': [1-9]' || fail "productpage sidecar saw no inbound requests: $server_out"
tls_out=$(stat "$server" 'ssl.handshake')
echo "$tls_out" | grep -Eq ': [1-9]' || fail "no TLS handshakes on productpage's inbound listener: $tls_out"

names=$(kubectl "${ctx[@]}" get -n plain pod/bystander -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}')
case " $names " in
  *" istio-proxy "*) fail "pod in unlabelled namespace was injected ($names)" ;;
esac

# 5. Gateways never turn ready before Pilot: with Pilot gone, a new ingress gateway pod stays
# unready (its readiness needs Envoy's ACKs of a full configuration); it turns ready with Pilot.
sys=(-n istio-system)
kubectl "${ctx[@]}" scale deployment istio-pilot "${sys[@]}" --replicas=0
eventually 120 "Pilot pods gone" \
  test -z "$(kubectl "${ctx[@]}" get pods "${sys[@]}" -l app=istio-pilot -o name)"
kubectl "${ctx[@]}" delete pod "${sys[@]}" -l app=istio-ingress --wait=true
# The replacement pod is made by the ReplicaSet controller a moment later: check it, not nothing.
eventually 120 "a new ingress gateway pod" \
  test -n "$(kubectl "${ctx[@]}" get pods "${sys[@]}" -l app=istio-ingress -o name)"
sleep 30
ready=$(kubectl "${ctx[@]}" get pods "${sys[@]}" -l app=istio-ingress \
  -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}')
case "$ready" in
  *True*) fail "the ingress gateway turned ready while Pilot was down ($ready)" ;;
esac
kubectl "${ctx[@]}" scale deployment istio-pilot "${sys[@]}" --replicas=1
kubectl "${ctx[@]}" rollout status "${sys[@]}" deployment/istio-ingress --timeout 3m

# 6. Certificates by CSR: the CA accepts only istio-ca tokens, re-injected pods get a projected
# token and ask the CA themselves; traffic with mutual TLS still flows.
"$helm" upgrade istio-lite "$root/charts/istio-lite" --kube-context "kind-$cluster" \
  --namespace istio-system --reuse-values --wait --timeout 5m --set ca.podCertificates=csr
# The injector reloads the mesh config when the kubelet updates its ConfigMap volume (up to a
# minute or so): wait until a server-side dry run of a pod comes back with the token.
eventually 180 "the injector to take caAddress" injects_token
kubectl "${ctx[@]}" rollout restart deployment -n demo
for d in $(kubectl "${ctx[@]}" get deployments -n demo -o name); do
  kubectl "${ctx[@]}" rollout status -n demo "$d" --timeout 5m
done
volumes=$(kubectl "${ctx[@]}" get pods -n demo -l app=productpage \
  -o jsonpath='{.items[0].spec.volumes[*].name}')
case " $volumes " in
  *" istio-token "*) ;;
  *) fail "productpage was not re-injected with the istio-token volume ($volumes)" ;;
esac
kubectl "${ctx[@]}" exec -n demo client -c client -- curl -sf http://productpage.demo:9080/ >/dev/null ||
  fail "client could not reach productpage once pods took CSR certificates"

echo "e2e/kind: PASS"
