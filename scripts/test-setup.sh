#!/usr/bin/env bash
# The first step of `npm test`: everything the tests use from outside the repository is in place
# before the first test runs, so no test or hook ever installs or builds anything.
#
# 1. System commands the tests run for real. Missing ones are installed with apt-get when this
#    runs as root on a Debian-like system; otherwise it stops at once with one line naming the
#    packages to install.
# 2. The binaries built from source (scripts/build-binaries.sh: kube-apiserver,
#    kube-controller-manager, kube-scheduler, kwok, etcd, helm, consul, jaeger and the grpc-go client
#    with Go, the tests' Eureka server jar with Maven), built into .cache/bin with their progress
#    shown. Found already (cache, PATH or the KUBE_APISERVER, KUBE_CONTROLLER_MANAGER,
#    KUBE_SCHEDULER, KWOK, ETCD, HELM, CONSUL, JAEGER, EUREKA_JAR, GRPC_GO_CLIENT variables), they
#    are not built again.
#
# ISTIO_LITE_SKIP_TEST_SETUP=1 skips both (for a machine prepared by other means).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[test-setup] %s\n' "$*" >&2; }

if [ "${ISTIO_LITE_SKIP_TEST_SETUP:-}" = 1 ]; then
  say "skipped (ISTIO_LITE_SKIP_TEST_SETUP=1)"
  exit 0
fi

# command the tests run -> the Debian package that provides it
needed=(
  "shellcheck shellcheck"        # the project's shell scripts are checked
  "redis-server redis-server"    # Mixer's redisquota adapter against a real Redis
  "iptables-restore iptables"    # istio-lite init writes real rules in network namespaces
  "ip iproute2"                  # the network namespaces and veth pairs
  "openssl openssl"              # every certificate chain is verified by openssl
  "python3 python3"              # the capture test's peer (connects with a chosen uid)
  "java openjdk-17-jdk-headless" # runs the Eureka server the Eureka registry's tests talk to
  "mvn maven"                    # builds that Eureka server (e2e/eureka-server) once
  "chromium chromium"            # the mesh dashboard's page in a real headless browser
  "systemd-analyze systemd"      # verifies the VM unit files istio-lite vm bundle writes
)

missing=()
for row in "${needed[@]}"; do
  read -r cmd pkg <<<"$row"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "npm test needs these system packages: ${missing[*]} (install them, e.g. as root: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

# The binaries: build the ones nothing provides yet.
build=()
for pair in "kube-apiserver KUBE_APISERVER" "kube-controller-manager KUBE_CONTROLLER_MANAGER" \
  "kube-scheduler KUBE_SCHEDULER" "kwok KWOK" "etcd ETCD" "helm HELM" "consul CONSUL" "jaeger JAEGER" "eureka EUREKA_JAR" \
  "grpc-go-client GRPC_GO_CLIENT"; do
  read -r name var <<<"$pair"
  [ -n "${!var:-}" ] && continue
  node -e '
    const [name] = process.argv.slice(1);
    import("./lib/local-cluster/binaries.ts").then((b) => {
      process.exit(b.findBinary(name) === undefined ? 1 : 0);
    });
  ' "$name" || build+=("$name")
done

if [ ${#build[@]} -gt 0 ]; then
  with_go=()
  for name in "${build[@]}"; do [ "$name" = eureka ] || with_go+=("$name"); done
  if [ ${#with_go[@]} -gt 0 ] && ! command -v go >/dev/null 2>&1; then
    echo "npm test needs Go (1.26 or later: kwok needs it) to build ${with_go[*]} once; install it, or point at existing binaries with KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER, KWOK, ETCD, HELM, CONSUL, JAEGER, GRPC_GO_CLIENT" >&2
    exit 1
  fi
  say "building ${build[*]} into .cache/bin (once; over an hour on 2 cores with empty Go and Maven caches, jaeger alone about 40 minutes)"
  bash scripts/build-binaries.sh "${ISTIO_LITE_CACHE:-.cache/bin}" "${build[@]}"
fi
say "ready"
