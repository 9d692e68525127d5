"""Built-in checks. Every module here is imported by the registry; each registers its
checks with :func:`gemcheck.registry.check`."""
