"""Every file buildguard writes goes through one writer (issue 18, point 3), run as users do.

Each writer of the command line (``verify --report/--junit``, ``verify-live --report/--junit``
against a site on a loopback port, ``record --out/--env-file``, ``seal``'s manifest) is pointed
at what must never be replaced or written through — a device node, ``/dev/full`` itself, a
FIFO, a folder, a symbolic link, a path under a regular file, ``/proc`` — and must answer
exit 2 naming the path, with the folder exactly as it was. A link planted at the temporary
name the old writer used (``.NAME.PID.tmp``, predictable from the pid) is not followed; a
write that fails half-way (the file-size limit) leaves the old file and no temporary behind.
These tests run as root, as the step images do.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clitools import buildguard_cli, console_script
from tinysite import TinySite, write_manifest

ROOT = Path(__file__).resolve().parent.parent
FRESH = f"oci-layout:{ROOT / 'examples/images/layout'}:fresh"
VERIFY_ENV = {"BUILD_ID": "example-build-0002", "COMMIT_SHA": "b" * 40}
RECORD_ENV = {"BUILD_ID": "output-files-build-1", "COMMIT_SHA": "c" * 40}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run as root, as the step images do")


@pytest.fixture(scope="module")
def site() -> Iterator[TinySite]:
    with TinySite() as server:
        yield server


Writer = Callable[[Path, str], subprocess.CompletedProcess[str]]


def _writers(site: TinySite, work: Path) -> dict[str, Writer]:
    manifest = write_manifest(work / "site-manifest.json")
    source = work / "src"
    source.mkdir(exist_ok=True)
    (source / "main.js").write_text("console.log(1)\n")

    def verify(flag: str) -> Writer:
        return lambda cwd, target: buildguard_cli(
            "verify", FRESH, flag, target, cwd=cwd, env=VERIFY_ENV
        )

    def live(flag: str) -> Writer:
        return lambda cwd, target: buildguard_cli(
            "verify-live",
            site.url + "/",
            "--manifest",
            str(manifest),
            flag,
            target,
            cwd=cwd,
            env={"BUILD_ID": ""},
            timeout=120,
        )

    def record(flag: str) -> Writer:
        other = "--env-file" if flag == "--out" else "--out"
        return lambda cwd, target: buildguard_cli(
            "record",
            str(source),
            flag,
            target,
            other,
            str(work / f"other{flag}"),
            cwd=cwd,
            env=RECORD_ENV,
        )

    return {
        "verify --report": verify("--report"),
        "verify --junit": verify("--junit"),
        "verify-live --report": live("--report"),
        "verify-live --junit": live("--junit"),
        "record --out": record("--out"),
        "record --env-file": record("--env-file"),
    }


def listing(folder: Path) -> dict[str, tuple[str, object]]:
    """Every name in ``folder`` (recursively) with its kind and content (or link target, or
    device number): two listings are equal when nothing was written, replaced or left."""
    seen: dict[str, tuple[str, object]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        name = path.relative_to(folder).as_posix()
        if stat.S_ISLNK(info.st_mode):
            seen[name] = ("link", os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            seen[name] = ("file", path.read_bytes())
        elif stat.S_ISCHR(info.st_mode):
            seen[name] = ("chr", info.st_rdev)
        else:
            seen[name] = (stat.filemode(info.st_mode)[0], None)
    return seen


def _plant(kind: str, folder: Path) -> str:
    """Make the thing named ``kind`` in ``folder``; return the target path to pass."""
    (folder / "victim.txt").write_text("precious\n")
    (folder / "afile").write_text("a regular file\n")
    target = folder / "target"
    if kind == "device":  # a twin of /dev/full: char 1,7
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
        (target / "inside.txt").write_text("kept\n")
    elif kind == "symlink":
        target.symlink_to("victim.txt")
    elif kind == "under a file":
        return str(folder / "afile" / "report.out")
    return str(target)


KINDS = ("device", "fifo", "folder", "symlink", "under a file")
WRITERS = (
    "verify --report",
    "verify --junit",
    "verify-live --report",
    "verify-live --junit",
    "record --out",
    "record --env-file",
)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_target_that_is_not_a_regular_file_is_exit_2_and_left_alone(
    site: TinySite, tmp_path: Path, kind: str, writer: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = _plant(kind, folder)
    before = listing(folder)
    done = _writers(site, tmp_path)[writer](tmp_path, target)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert f"cannot write {target}" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert listing(folder) == before  # nothing replaced, written through, or left behind


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(
    "target", ["/proc/buildguard-report.out", "/proc/self/report.out", "/proc/version"]
)
def test_a_path_on_proc_is_exit_2(site: TinySite, tmp_path: Path, writer: str, target: str) -> None:
    version = Path("/proc/version").read_bytes()
    done = _writers(site, tmp_path)[writer](tmp_path, target)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert f"cannot write {target}" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert Path("/proc/version").read_bytes() == version


def test_seal_refuses_a_manifest_path_that_is_a_link_or_a_fifo(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/main.js").write_text("console.log(1)\n")
    assert buildguard_cli("record", "--clean", "dist", cwd=app, env=RECORD_ENV).returncode == 0
    (app / "dist").mkdir()
    (app / "dist/index.js").write_text(f"console.log('{RECORD_ENV['BUILD_ID']}')\n")
    (tmp_path / "victim.txt").write_text("precious\n")
    manifest = app / "dist/buildguard-manifest.json"
    for kind in ("symlink", "fifo"):
        if kind == "symlink":
            manifest.symlink_to(tmp_path / "victim.txt")
        else:
            os.mkfifo(manifest)
        before = listing(tmp_path)
        done = buildguard_cli("seal", "dist", cwd=app)
        assert done.returncode == 2, done.stderr
        assert f"cannot write dist/{manifest.name}" in done.stderr
        assert listing(tmp_path) == before
        manifest.unlink()
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o644  # readable by nginx's workers


def test_report_dev_full_as_root_leaves_the_device(tmp_path: Path) -> None:
    """The issue's own case. A twin device in a temp folder is tried first, so that a writer
    that replaces devices fails the test there instead of replacing the machine's /dev/full."""
    twin = tmp_path / "full"
    os.mknod(twin, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    done = buildguard_cli("verify", FRESH, "--report", str(twin), env=VERIFY_ENV)
    assert done.returncode == 2 and stat.S_ISCHR(twin.lstat().st_mode), done.stderr
    real = os.lstat("/dev/full")
    assert stat.S_ISCHR(real.st_mode)
    for flag in ("--report", "--junit"):
        done = buildguard_cli("verify", FRESH, flag, "/dev/full", env=VERIFY_ENV)
        assert done.returncode == 2, done.stderr
        assert "cannot write /dev/full: it is a device" in done.stderr
        after = os.lstat("/dev/full")
        assert stat.S_ISCHR(after.st_mode) and after.st_rdev == real.st_rdev
        assert after.st_ino == real.st_ino
    assert not [p for p in os.listdir("/dev") if p.startswith(".full")]


def _run_with_known_pid(
    args: list[str], cwd: Path, env: dict[str, str], before_exec: Callable[[int], None]
) -> int:
    """Run the CLI in a child whose pid is known before it starts: fork, let ``before_exec``
    plant things named after the pid, then exec (the pid stays the same)."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the go, then become the CLI
        try:
            os.close(ready_w)
            os.read(ready_r, 1)
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execve(console_script(), [console_script(), *args], env)
        finally:
            os._exit(127)
    os.close(ready_r)
    try:
        before_exec(pid)
    finally:
        os.write(ready_w, b"go")
        os.close(ready_w)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("writer", ["verify --report", "verify-live --junit", "record --out"])
def test_a_link_at_the_old_predictable_temporary_name_is_not_followed(
    site: TinySite, tmp_path: Path, writer: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    manifest = write_manifest(tmp_path / "site-manifest.json")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/main.js").write_text("console.log(1)\n")
    name = "report.out"
    args = {
        "verify --report": ["verify", FRESH, "--report", f"out/{name}"],
        "verify-live --junit": [
            "verify-live",
            site.url + "/",
            "--manifest",
            str(manifest),
            "--junit",
            f"out/{name}",
        ],
        "record --out": ["record", "src", "--out", f"out/{name}", "--env-file", "env"],
    }[writer]
    env = {**os.environ, **VERIFY_ENV, **({"BUILD_ID": ""} if "live" in writer else {})}
    planted: list[Path] = []

    def plant(pid: int) -> None:
        link = folder / f".{name}.{pid}.tmp"  # what the old writer opened, following links
        link.symlink_to(victim)
        planted.append(link)

    code = _run_with_known_pid(args, tmp_path, env, plant)
    assert code == 0
    assert victim.read_text() == "precious\n"
    assert planted[0].is_symlink() and os.readlink(planted[0]) == str(victim)
    written = folder / name
    assert not written.is_symlink() and written.is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, planted[0].name])


def test_a_new_file_is_the_only_name_added_and_a_replaced_file_keeps_its_mode(
    site: TinySite, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    writers = _writers(site, tmp_path)
    done = writers["verify --report"](tmp_path, str(folder / "report.json"))
    assert done.returncode == 0, done.stderr
    done = writers["verify-live --junit"](tmp_path, str(folder / "junit.xml"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "report.json"]
    json.loads((folder / "report.json").read_text())
    assert ET.parse(folder / "junit.xml").getroot().get("tests") == "6"
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # 0666 less the umask (022)
    (folder / "report.json").chmod(0o600)  # a report the user keeps private stays private
    done = writers["verify --report"](tmp_path, str(folder / "report.json"))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((folder / "report.json").stat().st_mode) == 0o600


def test_a_write_that_fails_half_way_is_exit_2_and_leaves_the_old_file(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write(2) fail with EFBIG after 64 bytes (Python ignores SIGXFSZ)."""
    report = tmp_path / "report.json"
    report.write_text("the old report\n")
    before = listing(tmp_path)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    done = subprocess.run(
        [console_script(), "verify", FRESH, "--report", str(report)],
        cwd=tmp_path,
        env={**os.environ, **VERIFY_ENV},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_files,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"cannot write {report}: File too large" in done.stderr
    assert listing(tmp_path) == before
