"""Make untrusted strings safe to put into XML, HTML and UTF-8 files.

Report strings come from certificates, site files and network peers: they may
hold control characters or lone UTF-16 surrogates, which XML 1.0 forbids and
UTF-8 cannot encode. :func:`printable` replaces each such character with a
visible ``\\uXXXX`` escape, so the output stays valid and the reader still sees
what was there.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with every character that XML 1.0 or UTF-8 cannot carry shown as ``\\uXXXX``."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
