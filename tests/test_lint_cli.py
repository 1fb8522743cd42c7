"""`buildguard lint` on the command line: exit codes, options, output formats, suppressions.

The CLI is run as a user runs it (the installed console script); the SARIF output is
validated against the SARIF 2.1.0 JSON Schema from the OASIS TC's repository
(tests/data/sarif-schema-2.1.0.json, its source in the .SOURCE.md beside it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from clitools import buildguard_cli
from linttree import VITE_PACKAGE, write_tree

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
LINT_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "lint-report.schema.json"

INCIDENT = {
    "package.json": VITE_PACKAGE,
    "Dockerfile": "FROM nginx:1.25\nCOPY dist /app/v5-frontend\n",
    "cloudbuild.yaml": """
        steps:
          - name: gcr.io/cloud-builders/docker
            args: ['build', '-t', 'gcr.io/p/web', '.']
          - name: gcr.io/cloud-builders/docker
            args: ['push', 'gcr.io/p/web']
    """,
}
"""Two errors (BG-DF001 at Dockerfile:2, BG-CB001 at cloudbuild.yaml:2) and one warning
(BG-CB002 at cloudbuild.yaml:4)."""

WARNING_ONLY = {
    "k8s/web.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
        "spec:\n  containers:\n    - name: web\n      image: nginx\n"
    )
}
CLEAN = {
    "package.json": VITE_PACKAGE,
    "cloudbuild.yaml": "steps:\n  - name: node:20\n    args: ['npm', 'ci']\n",
}


def _lint(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return buildguard_cli("lint", str(root), *args)


def test_exit_0_on_a_clean_repository(tmp_path: Path) -> None:
    done = _lint(write_tree(tmp_path, CLEAN))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PASS: lint read 2 file(s): 0 error(s), 0 warning(s)")


def test_exit_1_on_an_error_finding_with_the_text_report_on_stdout(tmp_path: Path) -> None:
    done = _lint(write_tree(tmp_path, INCIDENT))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "Dockerfile:2: error BG-DF001: COPY dist copies" in done.stdout
    assert any(line.startswith("cloudbuild.yaml:2: error BG-CB001:") for line in lines)
    assert any(line.startswith("cloudbuild.yaml:4: warning BG-CB002:") for line in lines)
    assert sum(line.startswith("  hint: ") for line in lines) == 3
    assert lines[-1] == "FAIL: lint read 3 file(s): 2 error(s), 1 warning(s)"


@pytest.mark.parametrize(
    ("files", "fail_on", "code"),
    [
        (WARNING_ONLY, "error", 0),
        (WARNING_ONLY, "warning", 1),
        (WARNING_ONLY, "never", 0),
        (INCIDENT, "never", 0),
        (INCIDENT, "warning", 1),
        (CLEAN, "warning", 0),
    ],
)
def test_fail_on(tmp_path: Path, files: dict[str, str], fail_on: str, code: int) -> None:
    done = _lint(write_tree(tmp_path, files), "--fail-on", fail_on, "--format", "json")
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["ok"] is (code == 0)


def test_disable_silences_one_rule_and_an_unknown_rule_is_exit_2(tmp_path: Path) -> None:
    write_tree(tmp_path, INCIDENT)
    done = _lint(tmp_path, "--disable", "BG-DF001", "--disable", "BG-CB001", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["BG-CB002"]
    bad = _lint(tmp_path, "--disable", "BG-NOPE")
    assert bad.returncode == 2
    assert "unknown rule BG-NOPE" in bad.stderr and "BG-DF001" in bad.stderr


@pytest.mark.parametrize(
    ("dockerfile", "silenced"),
    [
        ("FROM nginx\n# buildguard-lint: ignore BG-DF001\nCOPY dist /x\n", True),  # line above
        ("FROM nginx\nCOPY dist /x  # buildguard-lint: ignore BG-DF001\n", True),  # same line
        ("FROM nginx\n# buildguard-lint: ignore BG-CB001, BG-DF001\nCOPY dist /x\n", True),
        ("FROM nginx\n# buildguard-lint: ignore BG-CB001\nCOPY dist /x\n", False),  # other rule
        ("# buildguard-lint: ignore BG-DF001\nFROM nginx\nCOPY dist /x\n", False),  # too far up
    ],
)
def test_suppression_comments(tmp_path: Path, dockerfile: str, silenced: bool) -> None:
    write_tree(tmp_path, {**INCIDENT, "Dockerfile": dockerfile})
    done = _lint(tmp_path, "--format", "json")
    rules = [f["rule"] for f in json.loads(done.stdout)["findings"]]
    assert ("BG-DF001" not in rules) is silenced
    assert "BG-CB001" in rules  # the pipeline's finding is its own line's business


def test_suppression_in_yaml_on_the_line_above(tmp_path: Path) -> None:
    pipeline = INCIDENT["cloudbuild.yaml"].replace(
        "          - name: gcr.io/cloud-builders/docker\n            args: ['push'",
        "          # buildguard-lint: ignore BG-CB002\n"
        "          - name: gcr.io/cloud-builders/docker\n            args: ['push'",
    )
    write_tree(tmp_path, {**INCIDENT, "cloudbuild.yaml": pipeline})
    rules = [f["rule"] for f in json.loads(_lint(tmp_path, "--format", "json").stdout)["findings"]]
    assert sorted(rules) == ["BG-CB001", "BG-DF001"]


def test_json_shape_matches_the_contract_and_the_committed_schema(tmp_path: Path) -> None:
    done = _lint(write_tree(tmp_path, INCIDENT), "--format", "json")
    document = json.loads(done.stdout)
    assert list(document) == ["schema_version", "ok", "files", "findings"]
    assert document["schema_version"] == 1 and document["ok"] is False
    assert document["files"] == [
        {"path": "Dockerfile", "kind": "dockerfile"},
        {"path": "cloudbuild.yaml", "kind": "cloudbuild"},
        {"path": "package.json", "kind": "package-json"},
    ]
    first = document["findings"][0]
    assert set(first) == {"rule", "severity", "path", "line", "column", "message", "hint"}
    jsonschema.validate(document, json.loads(LINT_SCHEMA.read_text()))
    assert "FAIL: lint read 3 file(s)" in done.stderr  # the text goes to stderr


def test_output_writes_the_chosen_format_and_text_goes_to_stderr(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", INCIDENT)
    target = tmp_path / "lint.sarif"
    done = _lint(repo, "--format", "sarif", "--output", str(target))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "FAIL: lint read 3 file(s)" in done.stderr
    assert json.loads(target.read_text())["version"] == "2.1.0"
    text_target = tmp_path / "lint.txt"
    done = _lint(repo, "--output", str(text_target))
    assert done.stdout == "" and text_target.read_text() == done.stderr


def _validate_sarif(document: object) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(document)


def test_sarif_is_valid_and_carries_rules_results_and_fingerprints(tmp_path: Path) -> None:
    done = _lint(write_tree(tmp_path, INCIDENT), "--format", "sarif")
    assert done.returncode == 1
    log = json.loads(done.stdout)
    _validate_sarif(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    for rule_id in (
        "BG-DF001",
        "BG-CB001",
        "BG-CB002",
        "BG-CB003",
        "BG-IGN001",
        "BG-IGN002",
        "BG-K8S001",
        "BG-PARSE",
    ):
        assert rule_id in ids
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("BG-DF001", "error"),
        ("BG-CB001", "error"),
        ("BG-CB002", "warning"),
    ]
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["partialFingerprints"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_the_sarif_validation_can_fail() -> None:
    """The schema check rejects a log that breaks SARIF (a result without a message)."""
    broken = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "BG-DF001"}]}],
    }
    with pytest.raises(jsonschema.ValidationError):
        _validate_sarif(broken)


def test_fingerprints_survive_an_edit_above_the_finding(tmp_path: Path) -> None:
    write_tree(tmp_path, INCIDENT)
    before = json.loads(_lint(tmp_path, "--format", "sarif").stdout)["runs"][0]["results"]
    (tmp_path / "Dockerfile").write_text("FROM nginx:1.25\nLABEL a=b\nCOPY dist /app/v5-frontend\n")
    after = json.loads(_lint(tmp_path, "--format", "sarif").stdout)["runs"][0]["results"]
    first = {r["ruleId"]: r["partialFingerprints"] for r in before}
    then = {r["ruleId"]: r["partialFingerprints"] for r in after}
    assert first["BG-DF001"] == then["BG-DF001"]
    assert after[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_usage_errors_are_exit_2_and_documents_in_json_and_sarif(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    text = buildguard_cli("lint", missing)
    assert text.returncode == 2 and "does not exist" in text.stderr and text.stdout == ""
    as_json = buildguard_cli("lint", missing, "--format", "json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)
    assert error["ok"] is False and error["error"]["kind"] == "usage"
    assert error["error"]["exit_code"] == 2 and "does not exist" in error["error"]["message"]
    as_sarif = buildguard_cli("lint", missing, "--format", "sarif")
    assert as_sarif.returncode == 2
    log = json.loads(as_sarif.stdout)
    _validate_sarif(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "does not exist" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert log["runs"][0]["results"] == []
    bad_flag = buildguard_cli("lint", "--fail-on", "sometimes")
    assert bad_flag.returncode == 2


def test_an_output_that_cannot_be_written_is_exit_2_with_the_document_on_stdout(
    tmp_path: Path,
) -> None:
    repo = write_tree(tmp_path / "repo", CLEAN)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    done = _lint(repo, "--format", "json", "--output", str(folder))
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["kind"] == "usage" and str(folder) in error["message"]


def test_api_prefix_must_be_a_path(tmp_path: Path) -> None:
    done = _lint(write_tree(tmp_path, CLEAN), "--api-prefix", "api/v5")
    assert done.returncode == 2 and "--api-prefix" in done.stderr


# Makes one rule fail the way a bug would, then runs the real CLI.
CRASH = """
import sys
from buildguard._lint import rules
from buildguard._lint.rule import Rule
def broken(workspace, context):
    raise KeyError("an unexpected key")
rules.ALL_RULES = (Rule("BG-BUG", "error", "t", "h", broken),)
import buildguard._lint.linter as linter
linter.ALL_RULES = rules.ALL_RULES
from buildguard._cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_bug_is_exit_4_never_a_verdict(tmp_path: Path, fmt: str) -> None:
    write_tree(tmp_path, CLEAN)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, "lint", str(tmp_path), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert "internal error" in done.stderr and "KeyError" in done.stderr
    assert "Traceback" not in done.stderr
    if fmt == "json":
        assert json.loads(done.stdout)["error"]["kind"] == "internal"
    elif fmt == "sarif":
        log = json.loads(done.stdout)
        _validate_sarif(log)
        assert log["runs"][0]["invocations"][0]["exitCode"] == 4
    else:
        assert done.stdout == ""


def test_an_unparsable_file_is_a_parse_warning_not_a_crash(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "cloudbuild.yaml": "steps:\n  - name: [unclosed\n",
            "Dockerfile": "FROM nginx\nCOPY dist /x\n",
            "package.json": VITE_PACKAGE,
        },
    )
    done = _lint(tmp_path, "--format", "json")
    findings = json.loads(done.stdout)["findings"]
    parse = [f for f in findings if f["rule"] == "BG-PARSE"]
    assert [(f["path"], f["line"], f["severity"]) for f in parse] == [
        ("cloudbuild.yaml", 3, "warning")
    ]
    assert done.returncode == 1  # the Dockerfile's own finding still stands (an error)
