"""The Konnektor: connector.sds, OperatingData, SOAP responses, parameters, and the live client.

Everything from outside is XML or YAML written by someone else: it is parsed
with ``defusedxml`` (no DTDs, no entities, no network) and validated against the
gematik XSDs shipped in ``xsd/`` (``lxml`` with network and entities off).
"""
