"""``verify-live``: the site users are served matches the sealed bundle of this build.

Public entry point: :func:`verify_live` (returns a :class:`LiveReport`). The modules:
``urls`` (URL ↔ bundle path), ``decode`` (Content-Encoding, bounded), ``fetch`` (one URL,
redirects, streamed hashing), ``refs`` (what pages and scripts reference), ``caching``,
``bundle`` (the sealed bundle indexed), ``expected`` (where it comes from), ``entry`` (the
entry page's samples and versions), ``check`` (one attempt: the entry pages, then every
file), ``findings`` (what an attempt collects), ``verifier`` (attempts, waiting, the report),
``options`` (the command line's values); its text and JUnit are in :mod:`buildguard._formats`.

Its report model is in :mod:`buildguard._models.livereport` (re-exported by
``buildguard.models``).
"""
