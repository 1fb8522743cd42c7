"""The distribution: its name in every install command, the wheel installed as a user
installs it (with and without the ``[gcp]`` extra), ``python -m buildguard``, the metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from terminal import report

import buildguard
from buildguard._internal.distribution import DISTRIBUTION

ROOT = Path(__file__).resolve().parent.parent
GOOGLE_CLIENTS = {
    "google-cloud-build",
    "google-cloud-artifact-registry",
    "google-cloud-storage",
    "google-cloud-kms",
}
HEAVY = {"grpcio", "protobuf", "proto-plus", "googleapis-common-protos"}

# `pip install X` where X comes from an index (not a path, a requirements file or an option)
_INSTALL = re.compile(
    r"pip3? install\s+((?:-{1,2}[\w-]+(?:[ =]\S+)?\s+)*)(['\"]?)([A-Za-z][\w.-]*)"
)


def install_targets(text: str) -> list[str]:
    """The distributions named by the ``pip install`` commands in ``text``."""
    return [m.group(3) for m in _INSTALL.finditer(text)]


def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for pattern in ("action.yml", "ci/**/*.yml", "steps/*", "examples/**/*.md", "*.yaml"):
        found += [
            p for p in sorted(ROOT.glob(pattern)) if p.is_file() and "node_modules" not in p.parts
        ]
    return found


def test_install_target_parsing() -> None:
    text = (
        "pip install buildguard\npip install 'buildguard-cli[gcp]'\n"
        "pip install --no-cache-dir --no-index --find-links /w buildguard-cli\npip install .\n"
        "pip install -e '.[dev]'\n"
    )
    assert install_targets(text) == ["buildguard", "buildguard-cli", "buildguard-cli"]


def test_every_install_command_in_the_docs_names_the_distribution() -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: pip install {name}"
        for path in documents()
        for name in install_targets(path.read_text(errors="replace"))
        if name.lower().replace("_", "-").startswith("buildguard") and name != DISTRIBUTION
    }
    assert wrong == set()
    readme = (ROOT / "README.md").read_text()
    assert f"pip install {DISTRIBUTION}" in readme
    assert f"pip install '{DISTRIBUTION}[gcp]'" in readme


def test_metadata() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["dynamic"] == ["version"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert project["license"] == {"text": "Apache-2.0"}
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])
    assert any(c.startswith("License :: OSI Approved :: Apache") for c in project["classifiers"])
    # the Google clients are an extra, never a core dependency; no upper bounds without a
    # reason (pydantic's <3 is the one: a major release changes the models' API)
    core = project["dependencies"]
    assert not [d for d in core if d.split(">")[0].split("[")[0] in GOOGLE_CLIENTS]
    assert {d.split(">=")[0] for d in project["optional-dependencies"]["gcp"]} == GOOGLE_CLIENTS
    bounded = [d for d in core if "<" in d]
    assert bounded == ["pydantic>=2.6,<3"]


def test_python_dash_m_buildguard_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "buildguard", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"buildguard {buildguard.__version__}"
    bad = subprocess.run(
        [sys.executable, "-m", "buildguard", "verify"], capture_output=True, text=True
    )
    assert bad.returncode == 2


# ------------------------------------------------------------ the wheel in a fresh venv


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=900
    )


def site_size(env_dir: Path) -> int:
    return sum(p.stat().st_size for p in env_dir.rglob("*") if p.is_file())


def installed(python: Path) -> set[str]:
    listing = run(python, "-m", "pip", "list", "--format=freeze")
    assert listing.returncode == 0, listing.stderr
    return {line.split("==")[0].lower() for line in listing.stdout.split()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, ROOT)
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("buildguard_cli-*.whl")
    assert found.name == f"buildguard_cli-{buildguard.__version__}-py3-none-any.whl"
    return found


def fresh_venv(where: Path, requirement: str) -> Path:
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin/python"
    done = run(python, "-m", "pip", "install", "-q", requirement)
    assert done.returncode == 0, done.stderr[-3000:]
    return python


@pytest.mark.install
def test_the_core_install_has_no_google_client_and_names_the_extra(
    wheel: Path, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    python = fresh_venv(tmp_path / "core", str(wheel))
    packages = installed(python)
    assert not packages & (GOOGLE_CLIENTS | HEAVY)
    command = tmp_path / "core/bin/buildguard"
    version = run(command, "--version")
    assert version.returncode == 0 and version.stdout.strip().endswith(buildguard.__version__)
    assert run(python, "-m", "buildguard", "--version").stdout == version.stdout
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BUILDGUARD_CACHE_KEY": "k" * 32}
    needs_extra = {
        "--from-build": [command, "verify", "--from-build", "b-123456", "--project", "p"],
        "gs:// cache": [
            command,
            "verify",
            "docker-archive:/nonexistent.tar",
            "--expect-build-id",
            "b-123456",
            "--cache",
            "gs://bucket/prefix",
        ],
        "mark on *.pkg.dev": [
            command,
            "verify",
            "europe-docker.pkg.dev/p/r/app@sha256:" + "a" * 64,
            "--expect-build-id",
            "b-123456",
            "--mark-verified",
            "verified",
        ],
        "gcpkms:// key": [
            command,
            "verify",
            "docker-archive:/nonexistent.tar",
            "--expect-build-id",
            "b-123456",
            "--attest",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            "--attest-out",
            "vsa.json",
        ],
    }
    for what, argv in needs_extra.items():
        done = run(*argv, env=env)
        assert done.returncode == 2, (what, done.stdout, done.stderr)
        assert f"pip install '{DISTRIBUTION}[gcp]'" in done.stderr, (what, done.stderr)
    # a source the core reads is not an exit 2: the missing archive is exit 3
    assert run(*needs_extra["gs:// cache"][:5], "--no-cache", env=env).returncode == 3
    report(
        pytestconfig,
        f"core install: {len(packages)} packages, {site_size(tmp_path / 'core') / 2**20:.0f} MiB",
    )


@pytest.mark.install
def test_the_gcp_extra_brings_the_clients(
    wheel: Path, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    python = fresh_venv(tmp_path / "gcp", f"{wheel}[gcp]")
    packages = installed(python)
    assert packages >= GOOGLE_CLIENTS
    command = tmp_path / "gcp/bin/buildguard"
    # the extra is there: --from-build goes as far as the (unreachable) API: exit 3, not 2
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BUILDGUARD_CLOUDBUILD_EMULATOR_HOST": "127.0.0.1:9",
    }
    done = run(command, "verify", "--from-build", "b-123456", "--project", "p", env=env)
    assert done.returncode == 3, done.stderr
    report(
        pytestconfig,
        f"[gcp] install: {len(packages)} packages, {site_size(tmp_path / 'gcp') / 2**20:.0f} MiB",
    )
