"""The JSON Canonicalization Scheme (JCS, RFC 8785): the bytes a report signature covers.

Why JCS and not ``json.dumps(sort_keys=True, separators=(",", ":"))``: JCS is a
published standard with implementations in many languages, so a customer can
check a gemcheck signature without Python. The two differ in exactly the places
where a verifier written elsewhere would trip: numbers (JCS writes ``100.0`` as
``100`` and ``1e-7`` as ``1e-7``, as ECMAScript does; Python writes ``100.0``
and ``1e-07``) and key order (JCS sorts by UTF-16 code units, Python by code
points, which differ above U+FFFF).

Rules implemented (RFC 8785 section 3.2): no whitespace; object members sorted
by the UTF-16 code units of their names; strings as UTF-8 with only ``"``,
``\\`` and control characters escaped (``\\b \\f \\n \\r \\t``, otherwise
``\\u00xx``); numbers as ECMAScript ``Number.prototype.toString`` writes them.
Values JCS cannot represent raise :class:`ValueError`: NaN, infinities, lone
surrogates, non-string keys.

One deliberate deviation: an integer beyond IEEE-754 double precision
(``|n| > 2**53``, a certificate serial number say) is written with all its
digits. RFC 8785 would round it to the nearest double, so two reports that
differ only in such a number's last digits would share one signature. Reports
without such integers (every report gemcheck's own checks write) canonicalize
exactly as RFC 8785 says.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(str(value))  # exact digits, also beyond 2**53 (see the module docstring)
    elif isinstance(value, float):
        out.append(number(value))
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("object member names must be strings")
        out.append("{")
        for i, name in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _write(value[name], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise ValueError(f"not a JSON value: {type(value).__name__}")


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _string(text: str) -> str:
    parts = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            parts.append(_ESCAPES[ch])
        elif code < 0x20:
            parts.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"lone surrogate U+{code:04X} cannot be canonicalized")
        else:
            parts.append(ch)
    parts.append('"')
    return "".join(parts)


def number(value: float) -> str:
    """A float as ECMAScript's ``Number.prototype.toString`` writes it (shortest round trip)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # value = 0.d1d2...dk x 10^n  (ECMAScript's k and n)
    n = len(digit_tuple) + exponent
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        exp = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + text
