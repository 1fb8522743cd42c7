"""``verify-attestation`` and the ``--attest``/``--attest-out`` options of ``verify``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from buildguard._cli.common import allow_extra, out, scrubbed, verbosity_options
from buildguard._cli.errordocs import standard_outputs, writes_error_documents
from buildguard.errors import UsageError

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

    from buildguard.models import AttestationReport, VerifyReport


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    """``--attest KEY`` and ``--attest-out FILE`` on ``verify``."""
    parser.add_argument(
        "--attest",
        metavar="KEY",
        help="after a passing verify, attach a signed verification summary (VSA); KEY is "
        "file:PATH, env:VAR or gcpkms://projects/…/cryptoKeyVersions/V",
    )
    parser.add_argument(
        "--attest-out", metavar="FILE", help="with --attest: also write the DSSE envelope here"
    )


def prepare(args: argparse.Namespace) -> Signer | None:
    """Before anything is read: the usage checks and the signer (a key that cannot be read
    is exit 2 here, before verify reads or writes anything)."""
    if args.attest_out and not args.attest:
        raise UsageError("--attest-out goes with --attest KEY")
    if not args.attest:
        return None
    if args.from_build:
        raise UsageError(
            "--attest works on one IMAGE, not with --from-build",
            hint="verify each pushed image with IMAGE@DIGEST --attest KEY",
        )
    from buildguard._attest.attest import check_attest_target
    from buildguard._attest.keys import load_signer

    check_attest_target(args.image, args.attest_out)
    return load_signer(args.attest)


def attest_single(args: argparse.Namespace, report: VerifyReport, signer: Signer) -> None:
    """``--attest`` after a passing verify (AttestFailed: exit 3, saying the verify passed)."""
    from buildguard._attest.attest import attest_verified

    done = attest_verified(
        report,
        signer,
        paths=args.path,
        allow_extra=allow_extra(args),
        out_file=args.attest_out,
        insecure_registries=args.insecure_registry,
    )
    stream = out(args)
    for attached in done.attached:
        stream.write(
            f"attested: {attached.target} (layer {attached.layer}, key "
            f"{done.keyid[:16]}…, {attached.layers} attestation(s) there)\n"
        )
    if done.written is not None:
        stream.write(f"attestation written to {done.written}\n")


def render_attestation(report: AttestationReport, stream: TextIO) -> None:
    verdict = "PASSED" if report.ok else "FAILED"
    stream.write(f"verify-attestation {verdict}: {report.image.reference}@{report.image.digest}\n")
    stream.write(f"  key {report.key_id[:16]}…, read from {report.image.attestations_tag}\n")
    for result in report.attestations:
        mark = "ok" if result.ok else "refused"
        build = f" build {result.build_id}" if result.build_id else ""
        stream.write(f"  - {result.layer[:19]}… {mark}{build}\n")
        for problem in result.problems:
            stream.write(f"      {problem.check}: {problem.message}\n")
    stream.write(f"  {report.message}\n")


def _cmd_verify_attestation(args: argparse.Namespace) -> int:
    from buildguard._attest.verifier import verify_attestation
    from buildguard._image.options import ReadOptions

    report = verify_attestation(
        args.image,
        args.key,
        expect_build_id=args.expect_build_id,
        expect_commit=args.expect_commit,
        options=ReadOptions(insecure_registries=args.insecure_registry),
    )
    with scrubbed(out(args)) as stream:
        render_attestation(report, stream)
    if args.json:
        from buildguard._formats.jsonreport import report_json

        sys.stdout.write(report_json(report))
    return 0 if report.ok else 1


def register(commands: Any) -> None:
    """Add ``verify-attestation`` to the sub-command parsers."""
    cmd = commands.add_parser(
        "verify-attestation",
        help="at deploy time: check the signed verification summary attached to IMAGE",
    )
    verbosity_options(cmd)
    cmd.add_argument("image", metavar="IMAGE", help="HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]")
    cmd.add_argument(
        "--key", required=True, metavar="PUBLIC_KEY", help="the PEM public key (or env:VAR)"
    )
    cmd.add_argument("--expect-build-id", metavar="ID", help="the build it must attest")
    cmd.add_argument("--expect-commit", metavar="SHA", help="the commit it must attest")
    cmd.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="use plain HTTP for HOST (loopback always does)",
    )
    cmd.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout (human output to stderr)",
    )
    cmd.set_defaults(handler=_cmd_verify_attestation)
    # exit 2, 3 and 4 with --json print the error document (DESIGN "Errors are documents too")
    writes_error_documents(cmd, standard_outputs("verify-attestation", "image", files=False))
