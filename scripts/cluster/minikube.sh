#!/usr/bin/env bash
# A minikube cluster started with Calico as its CNI (minikube's --cni=calico). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
need minikube kubectl
if minikube status -p "$CLUSTER_NAME" >/dev/null 2>&1; then
    say "minikube profile $CLUSTER_NAME is running"
else
    say "starting minikube profile $CLUSTER_NAME with Calico"
    minikube start -p "$CLUSTER_NAME" --cni=calico --nodes=2
fi
kubectl config use-context "$CLUSTER_NAME" >/dev/null
wait_for_calico
say "ready: context $CLUSTER_NAME"
