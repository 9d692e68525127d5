"""TLS probing: the wire format (``wire``), names of versions, suites and groups (``catalog``),
endpoint syntax (``endpoint``) and the probe itself (``probe``). See docs/tls.md."""
