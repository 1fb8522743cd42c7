"""Every output format, one module each; the library returns models and never formats.

``text`` (verify, inspect, verify-live for people), ``buildtext`` (``verify --from-build``),
``junit`` (one writer for verify, ``--from-build`` and verify-live), ``jsonreport``
(``--json`` and ``--report``), ``inspectjson`` (inspect's listing, streamed), ``markdown``
(the CI job summary of any JSON document). Files are
written through :func:`buildguard._internal.files.atomic_write`, documents redacted through
:mod:`buildguard._internal.redact`.
"""
