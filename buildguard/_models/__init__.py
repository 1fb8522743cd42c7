"""The report models of inspect and verify-live, and the error document, re-exported by
:mod:`buildguard.models`.

Apart from the packages that fill them so that ``models`` imports no reading code and no
reading code imports ``models``' own module for them (no import cycle).
"""
