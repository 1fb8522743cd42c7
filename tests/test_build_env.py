"""``build.env`` is bare ``KEY=VALUE`` lines (issue 20, point 6): no quotes, no comments, no
``export``, so the same file is read alike by ``. FILE``, ``export $(cat FILE)`` under
``set -e``, the real ``docker run --env-file`` and GitHub's ``$GITHUB_ENV``. Build ids and
commits are limited to ``[A-Za-z0-9._:-]`` (1-128), so a bare value is always safe; record
refuses others (exit 2).
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clitools import buildguard_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from services import Dockerd

from buildguard._record.recorder import ENV_NAMES, render_env_file
from buildguard.errors import UsageError
from buildguard.models import Record

BUILD_ID = "b-2026.12:08_x"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NAMES = (*ENV_NAMES, "BUILDGUARD_COMMIT")
_LINE = re.compile(r"[A-Z][A-Z0-9_]*=[A-Za-z0-9._:-]*")


def _record(tmp_path: Path, build_id: str = BUILD_ID, commit: str | None = COMMIT) -> Path:
    """``record`` in ``tmp_path`` (no git there: without ``commit`` the commit is empty)."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src/main.js").write_text("console.log(1)\n")
    done = buildguard_cli(
        "record",
        "--build-id",
        build_id,
        *(["--commit", commit] if commit else []),
        cwd=tmp_path,
        env={"BUILD_ID": "", "COMMIT_SHA": ""},
    )
    assert done.returncode == 0, done.stderr
    return tmp_path / ".buildguard/build.env"


def _sh(script: str, cwd: Path) -> str:
    return subprocess.run(
        ["sh", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout


def _expected(build_id: str = BUILD_ID, commit: str = COMMIT) -> str:
    return "".join(f"{build_id}\n" for _ in ENV_NAMES) + f"{commit}\n"


_ECHO = "; ".join(f'echo "${name}"' for name in NAMES)


def test_every_line_is_a_bare_key_value(tmp_path: Path) -> None:
    lines = _record(tmp_path).read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == list(NAMES)
    for line in lines:
        assert _LINE.fullmatch(line), line  # no quote, comment, export or blank line


@pytest.mark.parametrize("commit", [COMMIT, None])
def test_dot_sourcing_reads_the_values(tmp_path: Path, commit: str | None) -> None:
    env_file = _record(tmp_path, commit=commit)
    assert _sh(f". {env_file}; {_ECHO}", tmp_path) == _expected(commit=commit or "")


@pytest.mark.parametrize("commit", [COMMIT, None])
def test_export_cat_under_set_e_reads_the_values(tmp_path: Path, commit: str | None) -> None:
    env_file = _record(tmp_path, commit=commit)
    script = f"set -e; export $(cat {env_file}); sh -c '{_ECHO}'"  # seen by a child process
    assert _sh(script, tmp_path) == _expected(commit=commit or "")


def test_github_env_format_is_key_value(tmp_path: Path) -> None:
    """$GITHUB_ENV takes NAME=value lines (or a heredoc form); each value is taken verbatim."""
    env_file = _record(tmp_path)
    parsed = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert parsed == {**dict.fromkeys(ENV_NAMES, BUILD_ID), "BUILDGUARD_COMMIT": COMMIT}


@pytest.mark.parametrize("commit", [COMMIT, None])
def test_docker_run_env_file_reads_the_values(
    tmp_path: Path, dockerd: Dockerd, base_image: str, commit: str | None
) -> None:
    """docker takes each value verbatim: a quoted empty commit would arrive as ``''``."""
    env_file = _record(tmp_path, commit=commit)
    done = dockerd.docker("run", "--rm", "--env-file", str(env_file), base_image, "sh", "-c", _ECHO)
    assert done.stdout == _expected(commit=commit or "")


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--build-id", "has space"),
        ("--build-id", "quote'd"),
        ("--build-id", 'dq"x'),
        ("--build-id", "$(reboot)"),
        ("--build-id", "a#b"),
        ("--build-id", "x" * 129),
        ("--commit", "abc def"),
        ("--commit", "abc;rm"),
    ],
)
def test_values_that_would_need_quoting_are_refused(tmp_path: Path, flag: str, value: str) -> None:
    args = {"--build-id": "build-0001", "--commit": "abc"}
    args[flag] = value
    done = buildguard_cli(
        "record",
        *[x for pair in args.items() for x in pair],
        cwd=tmp_path,
        env={"BUILD_ID": "", "COMMIT_SHA": ""},
    )
    assert done.returncode == 2, done.stderr
    assert "not usable" in done.stderr
    assert not (tmp_path / ".buildguard/build.env").exists()


def test_an_empty_commit_is_an_empty_value(tmp_path: Path) -> None:
    header = Record(
        build_id=BUILD_ID,
        commit=None,
        started_at=datetime.now(UTC),
        source_root="/x",
        source_digest="sha256:" + "0" * 64,
        files=(),
    )
    text = render_env_file(header)
    assert text.endswith("BUILDGUARD_COMMIT=\n")
    env_file = tmp_path / "b.env"
    env_file.write_text(text)
    assert _sh(f'set -e; export $(cat {env_file}); echo "[$BUILDGUARD_COMMIT]"', tmp_path) == (
        "[]\n"
    )


def test_render_refuses_a_value_it_cannot_write_bare() -> None:
    header = Record(
        build_id="ok id",
        commit=None,
        started_at=datetime.now(UTC),
        source_root="/x",
        source_digest="sha256:" + "0" * 64,
        files=(),
    )
    with pytest.raises(UsageError, match="bare"):
        render_env_file(header)


_ALLOWED = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-",
    min_size=1,
    max_size=128,
)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(build_id=_ALLOWED, commit=_ALLOWED)
def test_any_allowed_value_reads_back_the_same_in_sh(build_id: str, commit: str) -> None:
    header = Record(
        build_id=build_id,
        commit=commit,
        started_at=datetime.now(UTC),
        source_root="/x",
        source_digest="sha256:" + "0" * 64,
        files=(),
    )
    script = f"set -e; export $(cat); {_ECHO}"
    got = subprocess.run(
        ["sh", "-c", script],
        input=render_env_file(header),
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout
    assert got == _expected(build_id, commit)


def test_a_build_id_too_short_for_a_canary_warns_at_record(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("a\n")
    done = buildguard_cli("record", "--build-id", "b12", cwd=tmp_path, env={"BUILD_ID": ""})
    assert done.returncode == 0, done.stderr
    assert "warning: build id 'b12' is shorter than 6 characters" in done.stderr
    done = buildguard_cli("record", "--build-id", "b12345", cwd=tmp_path, env={"BUILD_ID": ""})
    assert "shorter than" not in done.stderr
