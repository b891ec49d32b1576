"""Resource quantities as apimachinery's ``resource.Quantity`` reads, adds and prints them.

A quantity keeps the format it was written in (``DecimalSI`` for ``500m``, ``2`` or ``1k``;
``BinarySI`` for ``128Mi``; ``DecimalExponent`` for ``1e3``), and sums keep the format of
their first operand, as ``Quantity.Add`` does. Printing is ``CanonicalizeBytes``: the largest
suffix that leaves an integer (``1500m``, ``2``, ``1536Mi``), BinarySI below 1024 or not an
integer printed as DecimalSI. Values are rounded up to the nanounit when read, as Go's
parser rounds them. The API server's messages (quota, LimitRange) print quantities this way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Literal

Format = Literal["DecimalSI", "BinarySI", "DecimalExponent"]

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {power: suffix for suffix, power in _BINARY.items()}
_SYNTAX = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
NANO = Decimal("1e-9")

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
"""resource.ErrFormatWrong, the API server's words for a quantity it cannot read."""


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    format: Format = "DecimalSI"

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __str__(self) -> str:
        return canonical(self)

    @property
    def milli(self) -> int:
        """MilliValue: ceil(value x 1000)."""
        return int((self.value * 1000).to_integral_value(rounding="ROUND_CEILING"))


def parse(text: Any) -> Quantity:
    """A quantity as ``resource.ParseQuantity`` reads it.

    Raises:
        ValueError: :data:`ERR_FORMAT` for text that is not a quantity.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(ERR_FORMAT)
    match = _SYNTAX.match(str(text))
    if not match:
        raise ValueError(ERR_FORMAT)
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(ERR_FORMAT) from None
    fmt: Format
    if suffix in _BINARY:
        amount, fmt = amount * (1024 ** _BINARY[suffix]), "BinarySI"
    elif suffix[:1] in ("e", "E"):
        amount, fmt = amount.scaleb(int(suffix[1:])), "DecimalExponent"
    else:
        amount, fmt = amount.scaleb(_DECIMAL[suffix]), "DecimalSI"
    with localcontext() as context:
        context.prec = 80
        rounded = amount.quantize(NANO, rounding=ROUND_UP)
    return Quantity(rounded if rounded != amount else amount, fmt)


def canonical(quantity: Quantity) -> str:
    """``Quantity.String()``: ``500m``, ``2``, ``128Mi``, ``1e3``, ``0``."""
    value = quantity.value
    if value == 0:
        return "0"
    fmt = quantity.format
    if fmt == "BinarySI" and (abs(value) < 1024 or value != value.to_integral_value()):
        fmt = "DecimalSI"
    sign, magnitude = ("-" if value < 0 else ""), abs(value)
    if fmt == "BinarySI":
        number, power = int(magnitude), 0
        while power < 6 and number % 1024 == 0:
            number, power = number // 1024, power + 1
        return f"{sign}{number}{_BINARY_SUFFIX.get(power, '')}"
    exponent = -9
    with localcontext() as context:
        context.prec = 80
        mantissa = int((magnitude / NANO).to_integral_value(rounding=ROUND_UP))
    while mantissa % 1000 == 0 and (fmt == "DecimalExponent" or exponent < 18):
        mantissa, exponent = mantissa // 1000, exponent + 3
    if fmt == "DecimalExponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{mantissa}{_DECIMAL_SUFFIX[exponent]}"


def total(quantities: list[Quantity]) -> Quantity | None:
    """The sum, in the first one's format (None for none)."""
    if not quantities:
        return None
    result = quantities[0]
    for quantity in quantities[1:]:
        result = result + quantity
    return result
