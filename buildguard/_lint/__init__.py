"""``buildguard lint``: the incident's other causes, read from a repository's files.

``workspace`` finds and reads the files, the parsers (``cloudbuild``, ``actions`` →
``pipeline``; ``dockerfile``; ``ignorefiles``) turn them into models, ``rules/`` holds one
family of rules per module, and ``linter`` runs them all and applies suppressions.
"""
