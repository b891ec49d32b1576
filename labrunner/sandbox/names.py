"""Object names: generateName's random suffix and the API server's name rules.

The suffix alphabet is apimachinery's ``utilrand`` one (no vowels, no 0, 1 or 3),
so a generated name never spells a word; the pod-template-hash label is written
in the same alphabet.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def random_suffix(length: int = 5) -> str:
    """As ``utilrand.String(n)``: what generateName and the ReplicaSet controller append."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def encode(number: int, length: int) -> str:
    """``number`` written in :data:`ALPHABET`, least significant first, ``length`` characters."""
    text = ""
    while len(text) < length:
        number, index = divmod(number, len(ALPHABET))
        text += ALPHABET[index]
    return text


def dns1123_label(name: str) -> str | None:
    """The API server's complaint about ``name`` as an RFC 1123 label (namespaces), or None."""
    if len(name) <= 63 and _LABEL.match(name):
        return None
    return (f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', '
            "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def dns1035_label(name: str) -> str | None:
    """The same for a DNS-1035 label (Services: their names become DNS names)."""
    if len(name) <= 63 and _DNS1035.match(name):
        return None
    return (f'Invalid value: "{name}": a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', '
            "start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def dns1123_subdomain(name: str) -> str | None:
    """The same for an RFC 1123 subdomain, the rule for most kinds."""
    if len(name) <= 253 and _SUBDOMAIN.match(name):
        return None
    return (f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', '
            "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
