"""``verify --attest`` and ``verify-attestation``: the verification summary attestation.

A passing verify becomes an in-toto Statement v1 with the SLSA VSA v1 predicate
(:mod:`.statement`), signed as a DSSE envelope with securesystemslib (:mod:`.envelope`) by a
key from ``file:``, ``env:`` or ``gcpkms://`` (:mod:`.keys`, :mod:`.kms`), attached in
cosign's ``sha256-HEX.att`` format through the registry API (:mod:`.attach`), and checked by
:func:`buildguard._attest.verifier.verify_attestation`. docs/attest.md is the reference.
"""
