"""The build configs against Cloud Build's real schema and image rules, and the runner's
reading of a config (substitutions, step rules) against Cloud Build's documented behaviour.
No daemon needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cloudbuild_config as cfg
import localimages
import pytest
import yaml
from google.cloud.devtools import cloudbuild_v1
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [
    ROOT / "cloudbuild.example.yaml",
    ROOT / "steps/cloudbuild.yaml",
    ROOT / "examples/gke/cloudbuild.yaml",
]
# Images anyone can run as a Cloud Build step without building them: Google's builders and
# the official Docker Hub images the Dockerfiles start from.
PUBLIC_BUILDERS = frozenset(
    {
        "gcr.io/cloud-builders/docker",
        "gcr.io/google.com/cloudsdktool/cloud-sdk:slim",
        "gcr.io/cloud-builders/gke-deploy",
        "python:3.11-slim-bookworm",
    }
)
PUBLIC_BASES = frozenset(
    {"python:3.11-slim-bookworm", "node:22-bookworm-slim", "nginx:stable-bookworm"}
)
BUILTINS = cfg.builtin_values(
    project_id="my-project", build_id="b-1", location="europe-west1", given={"COMMIT_SHA": "a" * 40}
)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def parse_build(config: dict[str, Any]) -> Any:
    return json_format.ParseDict(config, cloudbuild_v1.Build.pb()())


# ------------------------------------------------------------------ the real schema


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_configs_parse_as_cloud_build_builds(path: Path) -> None:
    build = parse_build(load(path))
    assert build.steps and build.images
    assert build.options.automap_substitutions
    assert build.options.dynamic_substitutions


def test_schema_check_rejects_a_misspelled_field() -> None:
    config = load(CONFIGS[0])
    config["steps"][0]["waitfor"] = ["-"]
    with pytest.raises(json_format.ParseError, match="waitfor"):
        parse_build(config)


def test_example_follows_the_contracts_order() -> None:
    steps = load(CONFIGS[0])["steps"]
    assert [s["id"] for s in steps] == [
        "lint",
        "record",
        "build",
        "seal",
        "docker-build",
        "verify-image",
        "push",
        "verify-pushed",
        "deploy",
        "verify-live",
    ]
    # lint first, on the pipeline file and the app (docs/lint.md)
    assert steps[0]["args"] == ["lint", "cloudbuild.example.yaml", "${_APP_DIR}"]
    assert "dir" not in steps[0] and "waitFor" not in steps[0]
    steps = steps[1:]
    assert steps[0]["args"] == ["record", "--clean", "dist"]
    assert "npm ci && npm run build" in steps[1]["args"][-1]
    assert ". .buildguard/build.env" in steps[1]["args"][-1]
    assert steps[2]["args"] == ["seal", "dist"]
    assert "--build-arg=BUILD_ID=$BUILD_ID" in steps[3]["args"]
    assert "--label=org.opencontainers.image.revision=$COMMIT_SHA" in steps[3]["args"]
    assert steps[4]["args"][1].startswith("docker-daemon:")
    assert "--mark-verified verified" in steps[6]["script"]
    assert "cat /workspace/image.ref" in steps[7]["script"]
    assert steps[8]["script"].count("buildguard verify-live") == 1


# ------------------------------------------------------------------ every image is known


def named_images(path: Path, substitutions: dict[str, str] | None = None) -> set[str]:
    build = cfg.resolve(load(path), builtins=BUILTINS, substitutions=substitutions)
    return {s.name for s in build.steps}


def steps_published() -> set[str]:
    import buildguard

    config = load(ROOT / "steps/cloudbuild.yaml")
    given = {"_VERSION": buildguard.__version__}
    return set(cfg.resolve(config, builtins=BUILTINS, substitutions=given).images)


def unknown_images(path: Path, substitutions: dict[str, str] | None = None) -> set[str]:
    return named_images(path, substitutions) - steps_published() - PUBLIC_BUILDERS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_step_image_is_built_by_steps_or_a_public_builder(path: Path) -> None:
    # the examples' defaults point at where steps/cloudbuild.yaml publishes by default
    substitutions = {"_REGION": "europe-west1"}
    example = path.parent.name != "steps"
    assert unknown_images(path, substitutions if example else None) == set()


def test_an_image_from_elsewhere_is_reported() -> None:
    assert unknown_images(CONFIGS[0], {"_BUILDGUARD": "docker.io/someone/buildguard"}) == {
        "docker.io/someone/buildguard/buildguard:0.1.0",
        "docker.io/someone/buildguard/buildguard-node:0.1.0",
    }


def test_every_public_image_has_a_local_equivalent_listed_in_the_docs() -> None:
    dockerfile_bases = set()
    for dockerfile in (
        ROOT / "steps/Dockerfile",
        ROOT / "steps/node.Dockerfile",
        ROOT / "examples/vite-app/Dockerfile",
        ROOT / "examples/gke/Dockerfile",
    ):
        text = dockerfile.read_text()
        dockerfile_bases |= set(re.findall(r"^ARG \w+_BASE=(\S+)", text, re.M))
        dockerfile_bases |= {
            b
            for b in re.findall(r"^FROM (\S+)", text, re.M)
            if "$" not in b and b not in ("base", "venv")
        }
    assert dockerfile_bases == PUBLIC_BASES
    local = {e.name for e in localimages.equivalents("/usr/bin/docker")}
    # Node: the host's major version stands in for the default (see docs/testing.md)
    wanted = (PUBLIC_BUILDERS | PUBLIC_BASES) - {"node:22-bookworm-slim"}
    assert wanted | {localimages.node_base_name()} == local
    table = (ROOT / "docs/testing.md").read_text()
    for name in wanted | {"node:NN-bookworm-slim"}:
        assert f"`{name}`" in table, name


def test_the_version_is_typed_in_one_place_and_examples_pin_it() -> None:
    import tomllib

    import buildguard

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    # steps/cloudbuild.yaml takes the version as a required substitution and checks it
    assert load(ROOT / "steps/cloudbuild.yaml")["substitutions"]["_VERSION"] == ""
    # the example pipelines pin the step image of the release they were written for
    assert load(CONFIGS[0])["substitutions"]["_BUILDGUARD_VERSION"] == buildguard.__version__


# ------------------------------------------------------------------ substitutions


def resolve(config: dict[str, Any], **given: str) -> cfg.Build:
    return cfg.resolve(config, builtins=BUILTINS, substitutions=given)


def one_step(**step: Any) -> dict[str, Any]:
    return {"steps": [{"name": "img", **step}]}


def test_builtins_user_keys_and_escapes() -> None:
    config = one_step(
        args=[
            "$BUILD_ID",
            "${PROJECT_ID}/$_APP",
            "$$HOME",
            "$$$SHORT_SHA",
            "${_APP}x",
            "$TAG_NAME.",
            "$1 ${lower}",
        ]
    )
    config["substitutions"] = {"_APP": "web"}
    assert resolve(config).steps[0].args == (
        "b-1",
        "my-project/web",
        "$HOME",
        "$aaaaaaa",
        "webx",
        ".",
        "$1 ${lower}",
    )


def test_given_substitutions_override_defaults_and_set_trigger_builtins() -> None:
    config = one_step(args=["$_APP", "$COMMIT_SHA", "$SHORT_SHA"])
    config["substitutions"] = {"_APP": "web"}
    built = cfg.resolve(
        config,
        builtins=cfg.builtin_values(
            project_id="p", build_id="b", location="l", given={"COMMIT_SHA": "1234567890"}
        ),
        substitutions={"_APP": "api"},
    )
    assert built.steps[0].args == ("api", "1234567890", "1234567")


def test_unknown_uppercase_variable_is_an_error_even_when_loose() -> None:
    config = one_step(
        args=["echo $HOME"],
    )
    config["options"] = {"substitutionOption": "ALLOW_LOOSE"}
    with pytest.raises(cfg.ConfigError, match='"HOME" is not a valid built-in'):
        resolve(config)


def test_undefined_and_unused_user_substitutions_fail_unless_loose() -> None:
    config = one_step(args=["$_MISSING"])
    config["substitutions"] = {"_UNUSED": "x"}
    with pytest.raises(cfg.ConfigError) as caught:
        resolve(config)
    assert '"_MISSING" is not matched' in str(caught.value)
    assert '"_UNUSED" in the substitution data is not matched' in str(caught.value)
    config["options"] = {"substitutionOption": "ALLOW_LOOSE"}
    assert resolve(config).steps[0].args == ("",)


def test_automapped_substitutions_count_as_used_and_reach_scripts_as_env() -> None:
    config = one_step(script="echo $_USER $BUILD_ID", env=["EXTRA=$_USER"])
    config["substitutions"] = {"_USER": "me"}
    config["options"] = {"automapSubstitutions": True, "env": ["GLOBAL=1"]}
    built = resolve(config)
    step = built.steps[0]
    assert step.script == "echo $_USER $BUILD_ID"  # never substituted
    env = dict(e.split("=", 1) for e in cfg.step_env(built, step, base=["HOME=/builder/home"]))
    assert env["_USER"] == "me" and env["BUILD_ID"] == "b-1" and env["EXTRA"] == "me"
    assert env["GLOBAL"] == "1" and env["HOME"] == "/builder/home"


def test_without_automap_a_script_sees_no_substitutions() -> None:
    config = one_step(script="echo $BUILD_ID")
    built = resolve(config)
    env = dict(e.split("=", 1) for e in cfg.step_env(built, built.steps[0]))
    assert "BUILD_ID" not in env


def test_dynamic_substitutions_refer_to_builtins_and_each_other() -> None:
    config = one_step(args=["$_IMAGE"])
    config["substitutions"] = {
        "_REGION": "eu",
        "_REPO": "${_REGION}-docker.pkg.dev/$PROJECT_ID",
        "_IMAGE": "$_REPO/app:$$x",
    }
    with pytest.raises(cfg.ConfigError, match='"_REGION" in the substitution data is not'):
        resolve(config)  # without the option, values are literal: _REGION is never used
    config["options"] = {"substitutionOption": "ALLOW_LOOSE"}
    assert resolve(config).steps[0].args == ("$_REPO/app:$$x",)  # one pass, no re-scan
    config["options"] = {"dynamicSubstitutions": True}
    assert resolve(config).steps[0].args == ("eu-docker.pkg.dev/my-project/app:$x",)


def test_dynamic_substitutions_refuse_cycles_and_bash_expansions() -> None:
    config = one_step(args=["$_A"])
    config["options"] = {"dynamicSubstitutions": True}
    config["substitutions"] = {"_A": "$_B", "_B": "$_A"}
    with pytest.raises(cfg.ConfigError, match="cycle"):
        resolve(config)
    config["substitutions"] = {"_A": "${COMMIT_SHA:0:7}"}
    with pytest.raises(cfg.ConfigError, match="bash-style"):
        resolve(config)


def test_bad_keys_and_step_rules() -> None:
    with pytest.raises(cfg.ConfigError, match="does not respect format"):
        resolve({**one_step(args=["$_a"]), "substitutions": {"_a": "x"}})
    with pytest.raises(cfg.ConfigError, match="built-in and cannot be set"):
        resolve({**one_step(), "substitutions": {"BUILD_ID": "x"}})
    with pytest.raises(cfg.ConfigError, match="script cannot be used with args"):
        resolve(one_step(script="true", args=["x"]))
    with pytest.raises(cfg.ConfigError, match="not the id of an earlier step"):
        resolve({"steps": [{"name": "a", "waitFor": ["later"]}, {"name": "b", "id": "later"}]})
    with pytest.raises(cfg.ConfigError, match="unsupported key"):
        resolve(one_step(secretEnv=["TOKEN"]))


@settings(derandomize=True, max_examples=200)
@given(st.text(alphabet=st.sampled_from("$_{}ABZ09az- /"), max_size=40))
def test_doubling_every_dollar_always_yields_the_text(text: str) -> None:
    assert cfg.substitute(text.replace("$", "$$"), {"A": "x", "_B": "y"}) == text
    assert cfg.template_keys(text.replace("$", "$$")) == []


def docs_yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (ROOT / "docs/cloudbuild.md").read_text(), re.S)


def test_every_yaml_snippet_in_the_docs_is_a_valid_build_or_part_of_one() -> None:
    blocks = docs_yaml_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, list):  # a step or two
            data = {"steps": data}
        parse_build(data)
        if "steps" in data:  # and reads as Cloud Build would, given its user substitutions
            used = {k: "x" for k in cfg.template_keys(block) if k.startswith("_")}
            cfg.resolve(data, builtins=BUILTINS, substitutions=used)
