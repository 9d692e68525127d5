"""gemcheck: audit a site's connection to the German telematics infrastructure (TI).

The library API, imported lazily so that ``gemcheck --help`` stays fast::

    from gemcheck import audit, build_site, load_site, render
    site = build_site(load_site(path), path.parent, str(path))
    report = audit(site)
    print(render(report, "text"))
"""

from __future__ import annotations

import importlib
from typing import Any

from gemcheck._version import __version__

_API = {
    "audit": "gemcheck.audit",
    "AuditOptions": "gemcheck.audit",
    "plan": "gemcheck.audit",
    "run": "gemcheck.audit",
    "report_from_evidence": "gemcheck.audit",
    "collect": "gemcheck.collect",
    "CollectOptions": "gemcheck.collect",
    "evaluate": "gemcheck.engine",
    "load_profile": "gemcheck.profile",
    "render": "gemcheck.render",
    "load_site": "gemcheck.site",
    "build_site": "gemcheck.site",
    "check": "gemcheck.registry",
    "Context": "gemcheck.registry",
    "Finding": "gemcheck.model",
    "Report": "gemcheck.model",
    "Result": "gemcheck.model",
    "Severity": "gemcheck.model",
    "Status": "gemcheck.model",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'gemcheck' has no attribute {name!r}")
    attr = "load" if name == "load_profile" else name
    return getattr(importlib.import_module(module), attr)
