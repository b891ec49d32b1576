# Shared by the cluster scripts: messages, and a clear stop when a tool is missing.
set -euo pipefail
CALICO_VERSION="${CALICO_VERSION:-v3.29.1}"
CALICO_MANIFEST="https://raw.githubusercontent.com/projectcalico/calico/${CALICO_VERSION}/manifests/calico.yaml"
CLUSTER_NAME="${CLUSTER_NAME:-labrunner}"

say() { printf 'labrunner: %s\n' "$*" >&2; }
need() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            say "error: $tool is not installed; install it (see its documentation) or use the built-in sandbox: labrunner sandbox start"
            exit 127
        fi
    done
}
wait_for_calico() {
    say "waiting for Calico (calico-node on every node)"
    kubectl rollout status daemonset/calico-node -n kube-system --timeout=300s
    kubectl rollout status deployment/calico-kube-controllers -n kube-system --timeout=300s
}
