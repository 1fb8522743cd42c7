"""Differential test against the real runtime over crafted layers (issue 8).

Each image of :mod:`layercases` is written as an OCI layout by Python (config with the right
DiffIDs, manifest, index), copied with ``skopeo copy oci:DIR:t docker-archive:FILE:NAME:1``,
loaded into the real dockerd (``docker load``), created and exported (``docker create``,
``docker export``). The export is compared with ``buildguard inspect --json`` of the layout
(paths, types, sizes, file digests, link targets, modes; directories made implicitly as
parents are compared by type only), and where the image holds the sealed bundle, with the
exit code of ``buildguard verify``:

- dockerd refuses the image (load or create fails): inspect and verify must exit 3;
- dockerd applies it: inspect exits 0 with the export's view, or 3 (a refusal; never for a
  well-formed case); verify exits 0 only when the exported bundle is exactly the sealed one,
  1 or 3 otherwise (a well-formed case is never refused).

``umoci unpack --rootless`` is a third, informational opinion: its agreement is printed and
written to the session's report, never asserted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clitools import buildguard_cli
from golister import GoLister, build_golister
from imagecorpus import write_layout
from layercases import CASES, LayerCase, SealedBundle, seal_small_dist
from services import Dockerd

from buildguard._internal.pathescape import escape

pytestmark = pytest.mark.docker

EXPORT_EXTRAS = {"/.dockerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab"}
MOUNT_POINTS = ("/dev", "/proc", "/sys")
View = dict[str, tuple[Any, ...]]
UMOCI_OPINIONS: list[str] = []


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> SealedBundle:
    """A small dist sealed by the real ``buildguard record`` + ``seal``."""
    return seal_small_dist(tmp_path_factory.mktemp("runtime-bundle"))


@pytest.fixture(scope="module")
def golister(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoLister]:
    with GoLister(build_golister(tmp_path_factory.mktemp("golister"))) as lister:
        yield lister


@pytest.fixture(scope="module", autouse=True)
def _umoci_summary(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    if not UMOCI_OPINIONS:
        return
    capman = pytestconfig.pluginmanager.get_plugin("capturemanager")
    text = "\n".join(["", "umoci unpack --rootless (informational):", *UMOCI_OPINIONS])
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print(text)


# ------------------------------------------------------------------------------- views


def _excluded(path: str) -> bool:
    return path in EXPORT_EXTRAS or any(path == m or path.startswith(m + "/") for m in MOUNT_POINTS)


def _normal(raw: bytes) -> str | None:
    parts = [p for p in raw.split(b"/") if p not in (b"", b".")]
    if not parts or b".." in parts:
        return None
    return escape("/" + b"/".join(parts).decode("utf-8", "surrogateescape"))


def explicit_dirs(golister: GoLister, layers: list[bytes]) -> set[str]:
    """Directories some layer names itself (their attributes are compared)."""
    out: set[str] = set()
    for layer in layers:
        for e in golister.list(layer).entries:
            if e.typeflag == ord("5") and (path := _normal(e.name)):
                out.add(path)
    return out


def _project(view: View, explicit: set[str]) -> View:
    out = {}
    for path, (kind, size, digest, link, mode) in view.items():
        if kind == "dir" and path not in explicit:
            mode = None
        if kind in ("symlink", "dir", "other"):
            size = None
        if kind == "symlink":  # Linux symlinks are 0777 whatever the header says
            mode = None
        out[path] = (kind, size, digest, link, mode)
    return out


def export_view(dockerd: Dockerd, tag: str) -> tuple[View | None, str]:
    """path -> (kind, size, sha256, link, mode) from ``docker create`` + ``docker export``."""
    created = dockerd.docker("create", tag, "sh", check=False)
    if created.returncode != 0:
        return None, f"docker create: {created.stderr.strip()}"
    cid = created.stdout.strip()
    try:
        exported = subprocess.run(
            [dockerd.cli, "export", cid],
            env=dockerd.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
    finally:
        dockerd.docker("rm", cid, check=False)
    if exported.returncode != 0:
        return None, f"docker export: {exported.stderr.decode(errors='replace').strip()}"
    view: View = {}
    content: dict[str, tuple[int, str]] = {}
    with tarfile.open(
        fileobj=io.BytesIO(exported.stdout), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for m in tar:
            path = escape(posixpath.normpath("/" + m.name))
            if path == "/" or _excluded(path):
                continue
            mode = m.mode & 0o7777
            if m.isreg():
                fobj = tar.extractfile(m)
                assert fobj is not None
                body = fobj.read()
                content[m.name] = (len(body), hashlib.sha256(body).hexdigest())
                view[path] = ("file", *content[m.name], None, mode)
            elif m.islnk():
                view[path] = ("file", *content[m.linkname], None, mode)
            elif m.issym():
                view[path] = ("symlink", 0, None, escape(m.linkname), mode)
            elif m.isdir():
                view[path] = ("dir", 0, None, None, mode)
            else:
                view[path] = ("other", 0, None, None, mode)
    if "/etc" in view:  # made (or touched) by the container's init layer
        del view["/etc"]
    return view, ""


def inspect_view(report: dict[str, Any]) -> View:
    view: View = {}
    for f in report["files"]:
        if _excluded(f["path"]) or f["path"] == "/etc":
            continue
        kind = "file" if f["type"] == "hardlink" else f["type"]
        link = f.get("link_target") if kind == "symlink" else None
        view[f["path"]] = (kind, f["size"], f["sha256"], link, f["mode"])
    return view


def umoci_view(layout: Path, work: Path) -> tuple[View | None, str]:
    if shutil.which("umoci") is None:
        return None, "umoci not installed"
    target = work / "umoci-bundle"
    done = subprocess.run(
        ["umoci", "unpack", "--rootless", "--image", f"{layout}:t", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    rootfs = target / "rootfs"
    view: View = {}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = "/" + full.relative_to(rootfs).as_posix()
            path = escape(rel)
            st = full.lstat()
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                body = full.read_bytes()
                view[path] = ("file", len(body), hashlib.sha256(body).hexdigest(), None, mode)
            elif stat.S_ISLNK(st.st_mode):
                view[path] = ("symlink", 0, None, escape(os.readlink(full)), mode)
            elif stat.S_ISDIR(st.st_mode):
                view[path] = ("dir", 0, None, None, mode)
            else:
                view[path] = ("other", 0, None, None, mode)
    shutil.rmtree(target, ignore_errors=True)
    return view, ""


def diff(ours: View, theirs: View, who: str = "buildguard") -> list[str]:
    return [
        f"{p}: {who}={ours.get(p)} dockerd={theirs.get(p)}"
        for p in sorted(set(ours) | set(theirs))
        if ours.get(p) != theirs.get(p)
    ]


def bundle_intact(export: View, bundle: SealedBundle) -> bool:
    """The exported bundle folder is exactly the sealed files (content and mode)."""
    prefix = bundle.root + "/"
    found = {
        p[len(prefix) :]: v for p, v in export.items() if p.startswith(prefix) and v[0] != "dir"
    }
    sealed = {
        f.path: ("file", len(f.data), hashlib.sha256(f.data).hexdigest(), None, f.mode)
        for f in bundle.files
    }
    return found == sealed


# ------------------------------------------------------------------------------- the test


@dataclass
class Outcome:
    runtime: str
    inspect_rc: int
    verify_rc: int | None
    problems: list[str]


def run_case(
    case: LayerCase, bundle: SealedBundle, dockerd: Dockerd, golister: GoLister, work: Path
) -> Outcome:
    layers = case.build(bundle)
    layout = work / "layout"
    write_layout(layout, layers, compression="gzip", tag="t")
    ref = f"oci-layout:{layout}:t"
    tag = f"buildguard-runtime/{case.name.lower()}:1"
    archive = work / "image.tar"
    copied = subprocess.run(
        ["skopeo", "copy", f"oci:{layout}:t", f"docker-archive:{archive}:{tag}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert copied.returncode == 0, f"skopeo copy failed: {copied.stderr}"
    loaded = dockerd.docker("load", "-i", str(archive), check=False)
    export: View | None = None
    if loaded.returncode != 0:
        why = f"docker load: {loaded.stderr.strip()}"
    else:
        export, why = export_view(dockerd, tag)
        dockerd.docker("rmi", "-f", tag, check=False)
    problems: list[str] = []
    inspected = buildguard_cli("inspect", "--json", ref)
    verified = None
    if bundle.layer() in layers:
        verified = buildguard_cli(
            "verify",
            ref,
            *bundle.verify_flags(),
            "--json",
        )
    for name, done in (("inspect", inspected), ("verify", verified)):
        if done is not None and (done.returncode not in (0, 1, 3) or "Traceback" in done.stderr):
            problems.append(f"{name} crashed (exit {done.returncode}): {done.stderr[-600:]}")
    runtime = "refused: " + why if export is None else "applied"
    if export is None:
        if inspected.returncode != 3:
            problems.append(f"dockerd refuses ({why}) but inspect exits {inspected.returncode}")
        if verified is not None and verified.returncode != 3:
            problems.append(f"dockerd refuses ({why}) but verify exits {verified.returncode}")
    else:
        explicit = explicit_dirs(golister, layers)
        if inspected.returncode == 0:
            lines = diff(
                _project(inspect_view(json.loads(inspected.stdout)), explicit),
                _project(export, explicit),
            )
            problems.extend(f"inspect vs export: {line}" for line in lines[:30])
        elif inspected.returncode == 3 and case.well_formed:
            problems.append(f"well-formed image refused by inspect: {inspected.stderr[-400:]}")
        elif inspected.returncode not in (0, 3):
            problems.append(f"inspect exits {inspected.returncode}: {inspected.stderr[-400:]}")
        if verified is not None:
            intact = bundle_intact(export, bundle)
            allowed = (
                ({0} if intact else {1}) if case.well_formed else ({0, 3} if intact else {1, 3})
            )
            if verified.returncode not in allowed:
                problems.append(
                    f"verify exits {verified.returncode}, expected one of {sorted(allowed)} "
                    f"(exported bundle {'intact' if intact else 'differs'}):\n"
                    f"{verified.stderr[-1200:]}"
                )
        umoci, umoci_why = umoci_view(layout, work)
        if umoci is None:
            UMOCI_OPINIONS.append(f"  {case.name}: umoci refuses ({umoci_why}); dockerd applies")
        else:
            lines = diff(_project(umoci, explicit), _project(export, explicit), "umoci")
            opinion = "agrees with" if not lines else "DIFFERS from"
            UMOCI_OPINIONS.append(
                f"  {case.name}: umoci {opinion} dockerd" + (f": {lines[0]}" if lines else "")
            )
    return Outcome(
        runtime,
        inspected.returncode,
        verified.returncode if verified is not None else None,
        problems,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_crafted_layer_agrees_with_dockerd_or_is_refused(
    case: LayerCase, bundle: SealedBundle, dockerd: Dockerd, golister: GoLister, tmp_path: Path
) -> None:
    outcome = run_case(case, bundle, dockerd, golister, tmp_path)
    assert not outcome.problems, (
        f"{case.name} ({case.note or 'no note'}): dockerd {outcome.runtime}; inspect exit "
        f"{outcome.inspect_rc}, verify exit {outcome.verify_rc}\n" + "\n".join(outcome.problems)
    )
