"""The commands the first-hour test reads from the documents (tests/support/docsteps.py):
found where the docs put them, and the same in the example apps (no services needed)."""

from __future__ import annotations

import re

import pytest
from docsteps import (
    APPS,
    docs_dockerfile,
    example_steps,
    for_app,
    readme_pipeline,
    substitute,
    three_steps,
)


def test_the_readme_pipeline_records_builds_seals_builds_the_image_and_verifies() -> None:
    lines = readme_pipeline()
    assert lines[0].startswith("buildguard record --clean dist")
    assert any(line.startswith("buildguard seal dist") for line in lines)
    verify = [line for line in lines if line.startswith("buildguard verify")]
    assert verify and "--path /usr/share/nginx/html" in verify[0]
    assert not any("#" in line for line in lines)


def test_the_docs_dockerfile_empties_the_nginx_folder_before_the_copy() -> None:
    dockerfile = docs_dockerfile()
    assert dockerfile.startswith("FROM nginx:stable-bookworm\n")
    rm = dockerfile.index("RUN rm -rf /usr/share/nginx/html/*")
    assert rm < dockerfile.index("COPY dist /usr/share/nginx/html")


@pytest.mark.parametrize("app", sorted(APPS))
def test_each_example_app_has_the_docs_dockerfile_for_its_folder(app: str) -> None:
    example = APPS[app].source / "Dockerfile"
    wanted = [line for line in for_app(docs_dockerfile(), APPS[app]).splitlines()]
    lines = example.read_text().splitlines()
    assert [line for line in lines if line in wanted] == wanted, example


def test_the_three_steps_and_the_example_s_tail_are_found() -> None:
    args = [step["args"] for step in three_steps()]
    assert args[0] == ["record", "--clean", "dist"]
    assert ["seal", "dist"] in args
    assert args[-1][0] == "verify" and args[-1][1].startswith("docker-daemon:")
    assert {"push", "verify-pushed", "verify-live"} <= set(example_steps())


def test_dist_is_replaced_as_a_folder_name_only() -> None:
    app = APPS["cra"]
    assert for_app("record --clean dist; COPY dist /usr/share/nginx/html", app) == (
        "record --clean build; COPY build /usr/share/nginx/html"
    )
    assert for_app("/src/dist dist.js distro dist/", app) == "/src/dist dist.js distro build/"
    assert substitute(
        "'docker-daemon:$_IMAGE:${BUILD_ID}' $HOME", {"_IMAGE": "r/i", "BUILD_ID": "b"}
    ) == ("'docker-daemon:r/i:b' $HOME")
    assert re.fullmatch(r"[a-z]+", app.output)
