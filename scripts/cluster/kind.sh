#!/usr/bin/env bash
# A kind cluster whose CNI enforces NetworkPolicy: kind's default CNI (kindnet) ignores
# policies, so the cluster starts without it and Calico is installed. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
need kind kubectl
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    say "kind cluster $CLUSTER_NAME exists"
else
    say "creating kind cluster $CLUSTER_NAME without its default CNI"
    kind create cluster --name "$CLUSTER_NAME" --config - <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  podSubnet: 192.168.0.0/16
nodes:
- role: control-plane
- role: worker
YAML
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null
say "installing Calico $CALICO_VERSION"
kubectl apply -f "$CALICO_MANIFEST" >/dev/null
wait_for_calico
say "ready: context kind-$CLUSTER_NAME (labrunner check ... --context kind-$CLUSTER_NAME)"
