"""A Markdown summary of any JSON document buildguard writes: verify's, ``--from-build``'s,
verify-live's and lint's reports, and the error document of exit 2, 3 and 4.

It reads the document as written (a file from ``--report`` or ``--output``), so the CI
integrations (the GitHub Action's job summary, a GitLab job) need nothing but the file:
``python -m buildguard._formats.markdown REPORT.json >> "$GITHUB_STEP_SUMMARY"``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MAX_ROWS = 50
"""Findings listed in the table; the rest are counted (every one is in the report)."""

_MARK = {"error": "❌ error", "warning": "⚠️ warning", "info": "info", "note": "note"}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _table(findings: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = list(findings)
    if not rows:
        return ["No findings."]
    lines = ["| code | severity | where | message |", "| --- | --- | --- | --- |"]
    for finding in rows[:MAX_ROWS]:
        code = finding.get("code") or finding.get("rule")
        where = finding.get("path") or finding.get("url") or ""
        if finding.get("line"):
            where = f"{where}:{finding['line']}"
        message = finding.get("message", "")
        if finding.get("hint"):
            message = f"{message} — *{finding['hint']}*"
        severity = _MARK.get(str(finding.get("severity")), finding.get("severity"))
        lines.append(f"| `{_cell(code)}` | {severity} | {_cell(where)} | {_cell(message)} |")
    if len(rows) > MAX_ROWS:
        lines.append("")
        lines.append(f"… and {len(rows) - MAX_ROWS} more (every finding is in the report).")
    return lines


def _verdict(ok: bool) -> str:
    return "✅ pass" if ok else "❌ fail"


def render_markdown(document: Mapping[str, Any]) -> str:
    """The summary of ``document`` (a parsed report or error document)."""
    lines: list[str] = []
    if "error" in document and document.get("ok") is False:
        error = document["error"]
        lines += [
            f"### buildguard: {_cell(error.get('kind'))} error (exit {error.get('exit_code')})",
            "",
            _cell(error.get("message")),
        ]
        if error.get("hint"):
            lines += ["", f"**Fix:** {_cell(error['hint'])}"]
    elif "image" in document and "bundles" in document:
        image = document["image"]
        expected = document.get("expected", {})
        lines += [
            f"### buildguard verify: {_verdict(bool(document.get('ok')))}",
            "",
            f"Image `{_cell(image.get('reference'))}` (`{_cell(image.get('digest'))}`), "
            f"expected build `{_cell(expected.get('build_id'))}`.",
            "",
        ]
        for bundle in document["bundles"]:
            state = "ok" if bundle.get("ok") else "FAILED"
            lines.append(
                f"- bundle `{_cell(bundle.get('root'))}`: {state} (build "
                f"`{_cell(bundle.get('build_id'))}`, {bundle.get('files_compared', 0)} files)"
            )
        lines += ["", *_table(document.get("findings", ()))]
    elif "images" in document and "build" in document:
        lines += [f"### buildguard verify --from-build: {_verdict(bool(document.get('ok')))}", ""]
        for image in document["images"]:
            lines.append(
                f"- `{_cell(image.get('reference'))}`: {_cell(image.get('verdict'))}"
                + (f" — {_cell(image.get('error'))}" if image.get("error") else "")
            )
    elif "url" in document and "assets" in document:
        lines += [
            f"### buildguard verify-live: {_verdict(bool(document.get('ok')))}",
            "",
            f"Site `{_cell(document['url'])}`, {len(document['assets'])} assets checked.",
            "",
            *_table(document.get("findings", ())),
        ]
    elif "files" in document and "findings" in document:
        lines += [
            f"### buildguard lint: {_verdict(bool(document.get('ok')))}",
            "",
            f"{len(document['files'])} files read.",
            "",
            *_table(document["findings"]),
        ]
    else:
        lines += ["### buildguard", "", "(a document this summary does not know)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m buildguard._formats.markdown FILE``: the summary on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m buildguard._formats.markdown REPORT.json\n")
        return 2
    try:
        document = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"cannot read the report {args[0]}: {exc}\n")
        return 2
    sys.stdout.write(render_markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
