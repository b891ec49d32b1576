# The dns-corefile step's starting state: the change someone made to send the corporate
# zone to its DNS server, made the wrong way (every name outside the cluster now goes there).
# The Corefile found is kept first in coredns-before-troubleshooting, for the step's reset.
set -e
corefile=$(mktemp)
kubectl get configmap coredns -n kube-system -o jsonpath='{.data.Corefile}' > "$corefile"
kubectl get configmap coredns-before-troubleshooting -n kube-system >/dev/null 2>&1 ||
  kubectl create configmap coredns-before-troubleshooting -n kube-system --from-file=Corefile="$corefile"
sed 's|forward \. /etc/resolv\.conf|forward . 10.10.0.53|' "$corefile" > "$corefile.new"
kubectl create configmap coredns -n kube-system --from-file=Corefile="$corefile.new" --dry-run=client -o yaml | kubectl replace -f -
rm -f "$corefile" "$corefile.new"
kubectl rollout restart deployment/coredns -n kube-system
kubectl rollout status deployment/coredns -n kube-system --timeout=120s
