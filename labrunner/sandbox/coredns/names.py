"""Domain names as CoreDNS compares them (plugin.Name, plugin.Host, plugin.Zones, dns.IsSubDomain),
and the server block keys it accepts (plugin.SplitHostPort)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

TRANSPORTS = ("dns", "tls", "grpc", "https")
DEFAULT_PORTS = {"dns": "53", "tls": "853", "grpc": "443", "https": "443"}
_LABEL = re.compile(r"[^.]{1,63}")


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def normalize(name: str) -> str:
    """plugin.Name(s).Normalize(): lower case, fully qualified."""
    return fqdn(name.lower())


def is_subdomain(zone: str, name: str) -> bool:
    """Whether ``name`` is ``zone`` or below it (label by label, case-insensitively)."""
    zone, name = normalize(zone), normalize(name)
    return zone == "." or name == zone or name.endswith("." + zone)


def best_zone(zones: Sequence[str], name: str) -> str:
    """The longest of ``zones`` that ``name`` is in; "" when none (plugin.Zones.Matches)."""
    found = ""
    for zone in zones:
        if is_subdomain(zone, name) and len(zone) > len(found):
            found = zone
    return found


def transport(key: str) -> tuple[str, str]:
    """A key's transport and the rest (``dns://.:53`` -> dns, ``.:53``)."""
    for scheme in TRANSPORTS:
        if key.startswith(scheme + "://"):
            return scheme, key[len(scheme) + 3:]
    return "dns", key


def is_domain_name(name: str) -> bool:
    """dns.IsDomainName's test, roughly: labels of 1 to 63 characters, 255 at most."""
    if name in (".", ""):
        return name == "."
    return len(name) <= 255 and all(_LABEL.fullmatch(label) for label in name.removesuffix(".").split("."))


def split_host_port(key: str) -> tuple[list[str], str]:
    """plugin.SplitHostPort: the zones a key stands for (a CIDR expands to its reverse zones)
    and its port ("" when it names none).

    Raises:
        ValueError: CoreDNS's words for a key it refuses.
    """
    port = ""
    colon = key.rfind(":")
    if colon == len(key) - 1 and key:
        raise ValueError(f'expecting data after last colon: "{key}"')
    if colon != -1 and key[colon + 1:].isdigit():
        port, key = str(int(key[colon + 1:])), key[:colon]
    if len(key) > 255:
        raise ValueError(f"specified zone is too long: {len(key)} > 255")
    try:
        network = ipaddress.ip_network(key, strict=False) if "/" in key else None
    except ValueError:
        network = None
    if network is None:
        if not is_domain_name(key or "."):
            raise ValueError(f"zone is not a valid domain name: {key}")
        return [key], port
    return reverse_zones(network), port


def reverse_zones(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """The in-addr.arpa (or ip6.arpa) zones that cover ``network``."""
    step = 8 if network.version == 4 else 4
    boundary = -(-network.prefixlen // step) * step
    zones = []
    for subnet in network.subnets(new_prefix=boundary) if boundary > network.prefixlen else [network]:
        pointer = subnet.network_address.reverse_pointer
        labels = pointer.split(".")
        kept = (network.max_prefixlen - boundary) // step
        zones.append(".".join(labels[kept:]) + ".")
    return zones


def reverse_name(address: str) -> str:
    """``10.96.0.10`` -> ``10.0.96.10.in-addr.arpa.``."""
    return ipaddress.ip_address(address).reverse_pointer + "."
