"""Layer-7 traffic in the sandbox: Ingress and the Gateway API, served by the controllers a
learner installs (ingress-nginx, NGINX Gateway Fabric) as simulated images.

The API server's part (validation, defaults, the DefaultIngressClass admission plugin) is in
``ingress/objects.py``; the CRDs of the Gateway API are the learner's to install and are
validated by their schemas (``sandbox/customresources``). What a controller's pods do is
simulated only while they run: statuses are published and requests routed by a ready pod, and
every request to a backend is a connection of that pod through the data plane
(:mod:`labrunner.sandbox.network`), so NetworkPolicies apply to it as they would.
"""
