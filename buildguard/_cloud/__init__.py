"""Thin adapters to Google's APIs (Cloud Build, Artifact Registry), through the real client
libraries with the REST transport.

Nothing here imports a Google library at module level: they take ~0.45 s to import and only
``verify --from-build`` and marks on ``*.pkg.dev`` need them.
"""
