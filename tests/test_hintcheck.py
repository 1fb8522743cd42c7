"""The checker of the first-hour test (tests/support/hintcheck.py): a suggestion naming a
command or flag that the installed console script does not have is caught, one naming real
ones or another program's flags is not."""

from __future__ import annotations

import json

import pytest
from hintcheck import check_output, check_suggestion, flags, subcommands, suggestions


def whats(text: str, context: str | None) -> list[str]:
    return [problem.what for problem in check_suggestion(text, context)]


def test_the_command_line_is_read_from_the_parser() -> None:
    assert {"record", "seal", "run", "verify", "inspect", "verify-live"} <= subcommands()
    assert {"--clean", "--build-id", "--out"} <= flags("record")
    assert "--path" in flags("verify") and "--clean" not in flags("verify")


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("run `buildguard record` before the build, or pass --record FILE", "seal"),
        ("record --clean dist; then seal dist", "seal"),
        ("--path DIR_IN_IMAGE, e.g. --path /app/v5-frontend", "verify-live"),
        ("load it with `docker run --env-file .buildguard/build.env`, or pass --no-canary", "seal"),
        ("`RUN rm -rf /usr/share/nginx/html/*` before the COPY, or --allow-extra", "verify"),
        ("`buildguard verify docker-daemon:app:1 --path /usr/share/nginx/html`", None),
        ("buildguard decodes gzip, deflate, br and zstd", "verify-live"),
        ("unrecognized arguments: --bogus", "verify"),
    ],
)
def test_real_commands_and_other_programs_flags_pass(text: str, context: str | None) -> None:
    assert check_output(f"buildguard: error: x\n  hint: {text}\n", context) == []


@pytest.mark.parametrize(
    ("text", "context", "what"),
    [
        (
            "pass --bogus-flag or set $BUILD_ID",
            "run",
            "`buildguard run` has no option --bogus-flag",
        ),
        ("then `buildguard sael dist`", "record", "`buildguard sael`: no such command"),
        ("run `buildguard seal --clean dist`", None, "`buildguard seal` has no option --clean"),
        (
            "record --clean dist, or seal --dist dist",
            "verify",
            "`buildguard seal` has no option --dist",
        ),
        (
            "`docker build .` then verify --no-such",
            "inspect",
            "`buildguard verify` has no option --no-such",
        ),
    ],
)
def test_a_command_or_flag_that_does_not_exist_is_named(
    text: str, context: str | None, what: str
) -> None:
    assert whats(text, context) == [what]


def test_every_place_a_suggestion_is_printed_is_read() -> None:
    text = (
        "FAIL FILE_EXTRA: /usr/share/nginx/html/50x.html is not in the manifest\n"
        "       hint: remove it with `buildguard verify --nope`\n"
        "buildguard: warning: pass --also-nope\n"
        "a line quoting `seal --nope-three` in passing\n"
        "a line with --not-a-suggestion outside any hint\n"
    )
    assert len(suggestions(text)) == 3
    assert [p.what.split()[-1] for p in check_output(text, "verify")] == [
        "--nope",
        "--also-nope",
        "--nope-three",
    ]


def test_a_json_document_s_hints_and_messages_are_read() -> None:
    document = {
        "ok": False,
        "findings": [{"code": "X", "message": "see --fine", "hint": "pass --nope"}],
        "error": {"message": "m", "hint": "use `buildguard verify --path /x`"},
    }
    problems = check_output(json.dumps(document), "verify")
    assert [p.what for p in problems] == [
        "`buildguard verify` has no option --fine",
        "`buildguard verify` has no option --nope",
    ]
