"""Services and networking: Services and their endpoints, DNS names and CoreDNS, Ingress and the
Gateway API, judged by what the objects mean and what the controllers report.

The check kinds (:mod:`.kinds`, loaded when first needed): ``service-backends`` (a Service of a
type and port whose endpoints are the ready pods of a workload), ``service-endpoints`` (which pods
a Service's EndpointSlices list as ready and which not), ``dns-record`` (a name resolves, from a
pod in a namespace, to a Service's or a pod's address), ``coredns-alias`` (a name sent by CoreDNS
to another's addresses, its Corefile read as CoreDNS reads it), ``ingress-routes`` (requests for a
host and paths reach the right Services through an IngressClass), ``gateway-class``,
``gateway-programmed`` and ``httproute-routes`` (a GatewayClass accepted, a Gateway programmed with
its listeners, an HTTPRoute attached with resolved references that routes each request as asked).
Statuses are read as any cluster's controllers write them; the explanations reuse the sandbox's
pure logic (CoreDNS's Corefile loader, ingress-nginx's location matching, the Gateway API's
attachment and precedence rules), so they hold on kind with the real controllers too.
"""

from __future__ import annotations

from labrunner.registry.types import Resource, Topic

GATEWAY_GROUP = "gateway.networking.k8s.io"

TOPIC = Topic(
    name="services",
    kinds="labrunner.topics.services.kinds:KINDS",
    resources=(
        Resource(plural="ingresses", kind="Ingress", group="networking.k8s.io"),
        Resource(plural="ingressclasses", kind="IngressClass", group="networking.k8s.io", namespaced=False),
        Resource(plural="gatewayclasses", kind="GatewayClass", group=GATEWAY_GROUP, namespaced=False),
        Resource(plural="gateways", kind="Gateway", group=GATEWAY_GROUP),
        Resource(plural="httproutes", kind="HTTPRoute", group=GATEWAY_GROUP),
        Resource(plural="referencegrants", kind="ReferenceGrant", group=GATEWAY_GROUP, version="v1beta1"),
    ),
)
