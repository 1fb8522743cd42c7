"""Read a cloudbuild.yaml the way Cloud Build does, before anything runs.

What it checks and resolves, after Cloud Build's own rules (as documented, and as the former
`cloud-build-local` implemented them in `subst/` and `validate/`):

- `$KEY` / `${KEY}` with KEY `[A-Z_][A-Z0-9_]*` are substitutions, `$$` is a literal `$`;
  they are applied to a step's `name`, `args`, `env`, `dir`, `entrypoint`, to `images`,
  `tags` and `options.env`, never to `script` or `id` (a script sees substitutions only as
  environment variables, through `env:` or `automapSubstitutions`);
- built-ins (`$PROJECT_ID`, `$BUILD_ID`, `$COMMIT_SHA`, `$SHORT_SHA`, `$LOCATION`, ...) are
  empty when unknown; user keys are `_[A-Z0-9_]+`; a key that is neither is an error;
- a user key used but not defined, or defined but never used, fails the build unless
  `options.substitutionOption: ALLOW_LOOSE` (automapped substitutions count as used);
- with `options.dynamicSubstitutions`, user values may refer to built-ins and to each other
  (plain `$KEY` / `${KEY}` only: bash-style `${KEY:0:7}` is refused here, not guessed);
- `script` excludes `args` and `entrypoint`; `waitFor` names earlier steps (or `-`).

Unknown keys are refused, so a config using something this runner does not do (volumes,
secrets, pools) fails loudly instead of running differently. Keys that change nothing here
are accepted and ignored: the build's `timeout`, `serviceAccount`, `logsBucket`, and
`options.logging`, `machineType`, `requestedVerifyOption`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BUILTIN_SUBSTITUTIONS = (
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
    "TRIGGER_NAME",
    "COMMIT_SHA",
    "REVISION_ID",
    "SHORT_SHA",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REF_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
)
# Built-ins a caller may set (as `gcloud builds submit --substitutions` may); the others
# come from the build itself.
OVERRIDABLE_BUILTINS = frozenset(BUILTIN_SUBSTITUTIONS) - {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
}
USER_KEY = re.compile(r"_[A-Z0-9_]+")
_PARAM = re.compile(r"\$(?:(\$)|\{([A-Z_][A-Z0-9_]*)\}|([A-Z_][A-Z0-9_]*))")
_BASH_EXPANSION = re.compile(r"\$\{[A-Z_][A-Z0-9_]*[^A-Z0-9_}][^}]*\}")

BUILD_KEYS = frozenset(
    {
        "steps",
        "substitutions",
        "options",
        "images",
        "timeout",
        "tags",
        "serviceAccount",
        "logsBucket",
    }
)
STEP_KEYS = frozenset(
    {
        "name",
        "args",
        "entrypoint",
        "script",
        "env",
        "dir",
        "id",
        "waitFor",
        "timeout",
        "allowFailure",
        "allowExitCodes",
        "automapSubstitutions",
    }
)
OPTION_KEYS = frozenset(
    {
        "substitutionOption",
        "dynamicSubstitutions",
        "automapSubstitutions",
        "env",
        "logging",
        "machineType",
        "requestedVerifyOption",
    }
)


class ConfigError(ValueError):
    """The build config is one Cloud Build would refuse (or one this runner cannot run)."""


@dataclass(frozen=True)
class Step:
    index: int
    id: str | None
    name: str
    args: tuple[str, ...]
    entrypoint: str | None
    script: str | None
    env: tuple[str, ...]
    dir: str
    wait_for: tuple[str, ...]
    automap: bool
    timeout: float | None
    allow_failure: bool
    allow_exit_codes: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"Step #{self.index}" + (f' - "{self.id}"' if self.id else "")


@dataclass(frozen=True)
class Build:
    steps: tuple[Step, ...]
    images: tuple[str, ...]
    substitutions: Mapping[str, str]
    """Every value a step can see: built-ins (empty when unknown) and user substitutions."""
    options_env: tuple[str, ...]
    automap: bool


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a build config is a mapping")
    return data


def template_keys(text: str) -> list[str]:
    """The substitution keys ``text`` refers to (``$$`` is an escape, not a key)."""
    return [m.group(2) or m.group(3) for m in _PARAM.finditer(text) if not m.group(1)]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Apply substitutions to one string; an unknown key becomes empty, ``$$`` becomes ``$``."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        return values.get(match.group(2) or match.group(3), "")

    return _PARAM.sub(one, text)


def builtin_values(
    *,
    project_id: str,
    build_id: str,
    location: str,
    project_number: str = "",
    given: Mapping[str, str] | None = None,
) -> dict[str, str]:
    values = dict.fromkeys(BUILTIN_SUBSTITUTIONS, "")
    values.update(
        PROJECT_ID=project_id, BUILD_ID=build_id, LOCATION=location, PROJECT_NUMBER=project_number
    )
    for key, value in (given or {}).items():
        if key in OVERRIDABLE_BUILTINS:
            values[key] = value
    commit = values["COMMIT_SHA"]
    if commit and not values["SHORT_SHA"]:
        values["SHORT_SHA"] = commit[:7]
    if commit and not values["REVISION_ID"]:
        values["REVISION_ID"] = commit
    return values


def _user_values(
    defaults: Mapping[str, Any],
    given: Mapping[str, str],
    builtins: Mapping[str, str],
    *,
    dynamic: bool,
) -> dict[str, str]:
    raw: dict[str, str] = {}
    for key, value in {**defaults, **given}.items():
        if key in BUILTIN_SUBSTITUTIONS:
            if key in defaults and key not in OVERRIDABLE_BUILTINS:
                raise ConfigError(f"substitution key {key!r} is a built-in and cannot be set")
            continue
        if not USER_KEY.fullmatch(key):
            raise ConfigError(
                f"substitution key {key!r} does not respect format '^_[A-Z0-9_]+$' and is not "
                "an overridable built-in substitution"
            )
        raw[key] = str(value)
    if not dynamic:
        return raw
    resolved: dict[str, str] = {}

    def resolve(key: str, chain: tuple[str, ...]) -> str:
        if key in resolved:
            return resolved[key]
        if key in chain:
            raise ConfigError(f"substitutions refer to each other in a cycle: {' -> '.join(chain)}")
        text = raw[key]
        if _BASH_EXPANSION.search(text):
            raise ConfigError(f"{key}: bash-style parameter expansion is not supported here")
        refs = {k: resolve(k, (*chain, key)) for k in template_keys(text) if k in raw}
        resolved[key] = substitute(text, {**builtins, **refs})
        return resolved[key]

    for key in raw:
        resolve(key, ())
    return resolved


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ConfigError(f"{what} must be a list of strings")
    return tuple(str(v) for v in value)


def _duration(value: Any, what: str) -> float | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(value))
    if not match:
        raise ConfigError(f"{what}: a duration is written like '600s'")
    return float(match.group(1))


def _check_keys(found: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unsupported key(s) {', '.join(unknown)}")


def resolve(
    config: Mapping[str, Any],
    *,
    builtins: Mapping[str, str],
    substitutions: Mapping[str, str] | None = None,
) -> Build:
    """Validate ``config`` and apply substitutions, as Cloud Build does before step 0."""
    _check_keys(config, BUILD_KEYS, "build")
    options = config.get("options") or {}
    _check_keys(options, OPTION_KEYS, "options")
    raw_steps = config.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError("a build needs at least one step")
    given = dict(substitutions or {})
    defaults = config.get("substitutions") or {}
    values = {
        **builtins,
        **_user_values(
            defaults, given, builtins, dynamic=bool(options.get("dynamicSubstitutions"))
        ),
    }
    automap = bool(options.get("automapSubstitutions"))

    used: set[str] = set()
    if options.get("dynamicSubstitutions"):  # a key another value refers to is used
        used.update(k for v in {**defaults, **given}.values() for k in template_keys(str(v)))
    problems: list[str] = []

    def sub(text: str) -> str:
        for key in template_keys(text):
            if key in values and (key.startswith("_") or key in BUILTIN_SUBSTITUTIONS):
                used.add(key)
            elif USER_KEY.fullmatch(key):
                problems.append(
                    f'key in the template "{key}" is not matched in the substitution data'
                )
            else:
                raise ConfigError(
                    f'key in the template "{key}" is not a valid built-in '
                    "substitution (write $$ for a literal $)"
                )
        return substitute(text, values)

    steps: list[Step] = []
    ids: set[str] = set()
    for index, raw in enumerate(raw_steps):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ConfigError(f"step {index}: a step is a mapping with a name")
        _check_keys(raw, STEP_KEYS, f"step {index}")
        script = raw.get("script")
        if script is not None and ("args" in raw or "entrypoint" in raw):
            raise ConfigError(f"step {index}: script cannot be used with args or entrypoint")
        wait_for = _strings(raw.get("waitFor"), f"step {index} waitFor")
        for dep in wait_for:
            if dep != "-" and dep not in ids:
                raise ConfigError(f"step {index}: waitFor {dep!r} is not the id of an earlier step")
        step_id = raw.get("id")
        if step_id is not None:
            if step_id in ids:
                raise ConfigError(f"step {index}: duplicate id {step_id!r}")
            ids.add(str(step_id))
        entrypoint = raw.get("entrypoint")
        steps.append(
            Step(
                index=index,
                id=None if step_id is None else str(step_id),
                name=sub(raw["name"]),
                args=tuple(sub(a) for a in _strings(raw.get("args"), f"step {index} args")),
                entrypoint=None if entrypoint is None else sub(str(entrypoint)),
                script=None if script is None else str(script),
                env=tuple(sub(e) for e in _strings(raw.get("env"), f"step {index} env")),
                dir=sub(str(raw.get("dir", ""))),
                wait_for=wait_for,
                automap=bool(raw.get("automapSubstitutions", automap)),
                timeout=_duration(raw.get("timeout"), f"step {index} timeout"),
                allow_failure=bool(raw.get("allowFailure", False)),
                allow_exit_codes=tuple(int(c) for c in raw.get("allowExitCodes") or ()),
            )
        )
    images = tuple(sub(i) for i in _strings(config.get("images"), "images"))
    for tag in _strings(config.get("tags"), "tags"):
        sub(tag)
    options_env = tuple(sub(e) for e in _strings(options.get("env"), "options.env"))

    if not (automap or any(s.automap for s in steps)):
        problems.extend(
            f'key "{key}" in the substitution data is not matched in the template'
            for key in sorted(set(defaults) | set(given))
            if key.startswith("_") and key not in used
        )
    if problems and options.get("substitutionOption") != "ALLOW_LOOSE":
        raise ConfigError("; ".join(problems))
    return Build(
        steps=tuple(steps),
        images=images,
        substitutions=values,
        options_env=options_env,
        automap=automap,
    )


def step_env(build: Build, step: Step, base: Sequence[str] = ()) -> list[str]:
    """A step's environment: base, then automapped substitutions, options.env, step env."""
    env: dict[str, str] = {}
    for entry in base:
        key, _, value = entry.partition("=")
        env[key] = value
    if step.automap:
        env.update(build.substitutions)
    for entry in (*build.options_env, *step.env):
        key, sep, value = entry.partition("=")
        if not sep:
            raise ConfigError(f"{step.label}: env entry {entry!r} is not KEY=VALUE")
        env[key] = value
    return [f"{k}={v}" for k, v in env.items()]
