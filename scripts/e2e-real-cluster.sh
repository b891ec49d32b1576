#!/usr/bin/env bash
# Prove the NetworkPolicy lab on the current kubeconfig context (a real cluster with a
# policy-enforcing CNI, e.g. from scripts/cluster/kind.sh). It creates and deletes the
# lab's namespace and labels kube-system, so use a cluster of your own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
context="$(kubectl config current-context)"
printf 'labrunner: self-testing the networkpolicies lab on context %s\n' "$context" >&2
exec "$ROOT/.venv/bin/labrunner" selftest networkpolicies --context "$context" "$@"
