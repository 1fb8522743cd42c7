"""What one attempt of verify-live collects: findings, the files fetched, the versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from buildguard._internal.modeltypes import Severity
from buildguard._models.livereport import (
    AssetResult,
    LiveFinding,
    LiveFindingCode,
    ServedVersion,
)

LISTED = 8  # names listed in one message


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


class Where(NamedTuple):
    path: str | None = None
    url: str | None = None
    status: int | None = None


@dataclass
class Attempt:
    findings: list[LiveFinding] = field(default_factory=list)
    assets: list[AssetResult] = field(default_factory=list)
    served: list[ServedVersion] = field(default_factory=list)
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def add(
        self,
        code: LiveFindingCode,
        message: str,
        where: Where | None = None,
        *,
        severity: Severity = "error",
        served_build: str | None = None,
        hint: str | None = None,
    ) -> None:
        path, url, status = where or Where()
        self.findings.append(
            LiveFinding(
                code=code,
                severity=severity,
                message=message,
                path=path,
                url=url,
                status=status,
                served_build=served_build,
                hint=hint,
            )
        )
