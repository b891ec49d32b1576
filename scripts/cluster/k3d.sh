#!/usr/bin/env bash
# A k3d cluster with flannel and k3s's built-in policy controller disabled, then Calico. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
need k3d kubectl
if k3d cluster list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -qx "$CLUSTER_NAME"; then
    say "k3d cluster $CLUSTER_NAME exists"
else
    say "creating k3d cluster $CLUSTER_NAME without flannel and without k3s's network policy controller"
    k3d cluster create "$CLUSTER_NAME" --agents 1 \
        --k3s-arg '--flannel-backend=none@server:*' \
        --k3s-arg '--disable-network-policy@server:*' \
        --k3s-arg '--cluster-cidr=192.168.0.0/16@server:*'
    say "installing Calico $CALICO_VERSION"
    kubectl apply -f "$CALICO_MANIFEST" >/dev/null
fi
kubectl config use-context "k3d-$CLUSTER_NAME" >/dev/null
wait_for_calico
say "ready: context k3d-$CLUSTER_NAME"
