"""Runs a composite GitHub Action (``action.yml``) the way a GitHub runner does, for tests.

What it does as GitHub does (docs.github.com: "Metadata syntax for GitHub Actions",
"Workflow commands", "Contexts"): the inputs' defaults merged with ``with:``; ``${{ }}``
expressions of the ``inputs``, ``steps.ID.outputs`` and ``github.action_path`` contexts
substituted into each step's ``run``, ``env`` and the action's ``outputs``; a ``bash`` step
run as ``bash --noprofile --norc -eo pipefail FILE``; a fresh ``$GITHUB_OUTPUT`` file per step
read back (``NAME=VALUE`` lines and ``NAME<<DELIMITER`` blocks); ``$GITHUB_STEP_SUMMARY``
per step, joined into the job summary; ``$GITHUB_ACTION_PATH``, ``$RUNNER_TEMP``; the first
failing step stops the action. Any other expression is an error here, so the action cannot
grow one that this runner (and so the test) would silently read as empty.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class ActionRun:
    exit_code: int
    """The failing step's exit code, 0 when every step passed."""
    outputs: dict[str, str]
    summary: str
    logs: dict[str, str] = field(default_factory=dict)


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT``'s syntax: ``NAME=VALUE`` or ``NAME<<DELIM`` … ``DELIM``."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            while lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            i += 1
            outputs[name] = "\n".join(value)
        else:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def run_action(
    action_dir: Path,
    inputs: dict[str, str],
    *,
    workdir: Path,
    runner_temp: Path,
    env: dict[str, str],
) -> ActionRun:
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    given = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(given)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    given.update(inputs)
    steps: dict[str, dict[str, str]] = {}

    def evaluate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            parts = expression.split(".")
            if parts[0] == "inputs" and len(parts) == 2:
                return given[parts[1]]
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return steps.get(parts[1], {}).get(parts[3], "")
            if expression == "github.action_path":
                return str(action_dir)
            raise AssertionError(f"an expression this runner does not evaluate: {expression}")

        return _EXPRESSION.sub(one, text)

    summary: list[str] = []
    logs: dict[str, str] = {}
    exit_code = 0
    for index, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{index}")
        assert step.get("shell") == "bash", "composite run steps must name their shell"
        output_file = runner_temp / f"output-{step_id}"
        summary_file = runner_temp / f"summary-{step_id}"
        script = runner_temp / f"script-{step_id}.sh"
        for path in (output_file, summary_file):
            path.write_text("")
        script.write_text(evaluate(step["run"]))
        step_env = {
            **env,
            **{k: evaluate(str(v)) for k, v in (step.get("env") or {}).items()},
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_ACTION_PATH": str(action_dir),
            "RUNNER_TEMP": str(runner_temp),
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        logs[step_id] = done.stdout + done.stderr
        steps[step_id] = parse_outputs(output_file.read_text())
        summary.append(summary_file.read_text())
        if done.returncode != 0:
            exit_code = done.returncode
            break
    outputs = {name: evaluate(spec["value"]) for name, spec in action["outputs"].items()}
    return ActionRun(exit_code=exit_code, outputs=outputs, summary="".join(summary), logs=logs)
