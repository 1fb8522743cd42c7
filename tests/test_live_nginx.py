"""verify-live against real nginx on loopback serving the example Vite app, built by npm and
sealed by buildguard: encodings, changed / missing / fallback chunks, a previous build,
--allow-changed, --base, caching, a round-robin upstream with an old backend, --wait.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clitools import buildguard_cli, console_script
from livesite import (
    BROTLI,
    BROTLI_STATIC,
    GZIP,
    GZIP_STATIC,
    PLAIN,
    SPA,
    ZSTD_STATIC,
    Build,
    build_app,
    precompress,
    swap_symlink,
)
from nginx import publish, run_nginx, world_readable_dir

pytestmark = pytest.mark.npm

OLD_ID = "live-old-0001"
NEW_ID = "live-new-0002"
APP_ID = "live-app-0003"


@pytest.fixture(scope="module")
def builds(installed_app: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    work = tmp_path_factory.mktemp("live-builds")
    return {
        "old": build_app(installed_app, work, OLD_ID),
        "new": build_app(installed_app, work, NEW_ID),
        "app": build_app(installed_app, work, APP_ID, base="/app/"),
    }


@pytest.fixture
def www() -> Iterator[Path]:
    """A world-readable folder for what nginx serves (removed after the test)."""
    root = world_readable_dir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def live(url: str, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    """Run the CLI with --json; return (exit code, report or {}, stderr)."""
    done = buildguard_cli(
        "verify-live", url, "--json", *args, timeout=timeout, env={"BUILD_ID": ""}
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def codes(report: dict[str, Any], severity: str = "error") -> list[str]:
    return [f["code"] for f in report["findings"] if f["severity"] == severity]


def by_path(report: dict[str, Any], code: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["findings"] if f["code"] == code}


@pytest.mark.parametrize(
    ("config", "precompressed", "encoding"),
    [
        (PLAIN, None, None),
        (GZIP, None, "gzip"),
        (BROTLI, None, "br"),
        (GZIP_STATIC, "gz", "gzip"),
        (BROTLI_STATIC, "br", "br"),
        (ZSTD_STATIC, "zst", "zstd"),
    ],
    ids=["plain", "gzip", "brotli", "gzip_static", "brotli_static", "zstd_static"],
)
def test_the_sealed_bundle_passes_in_every_encoding(
    builds: dict[str, Build],
    www: Path,
    config: str,
    precompressed: str | None,
    encoding: str | None,
) -> None:
    new = builds["new"]
    site = publish(new.dist, www / "site")
    if precompressed:
        precompress(site / "assets", precompressed)
    with run_nginx(f"root {site};\n{config}") as nginx:
        code, report, stderr = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 0, stderr
    assert report["ok"] is True
    assert report["expected"]["build_id"] == NEW_ID
    compared = {a["path"]: a for a in report["assets"]}
    # the entry page, its script and stylesheet, and the chunk only the script imports
    lazy = new.file("assets/lazy-", ".js")
    assert {
        "index.html",
        new.file("assets/index-", ".js"),
        new.file("assets/index-", ".css"),
        lazy,
    } <= set(compared)
    assert report["stats"]["files_compared"] == 3
    assert compared[lazy]["content_encoding"] == encoding
    assert compared[new.file("assets/index-", ".css")]["content_encoding"] == encoding
    assert all(a["ok"] for a in report["assets"])


def test_a_replaced_script_is_changed(builds: dict[str, Build], www: Path) -> None:
    new = builds["new"]
    site = publish(new.dist, www / "site")
    script = new.file("assets/index-", ".js")
    (site / script).write_text("console.log('hotfixed on the server')\n")
    with run_nginx(f"root {site};\n{PLAIN}") as nginx:
        code, report, _ = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 1
    assert codes(report) == ["LIVE_CHANGED"]
    changed = by_path(report, "LIVE_CHANGED")[script]
    assert "belong to no file of this build" in changed["message"]
    assert changed["url"] == f"{nginx.url}/{script}"
    # bytes of another file of this build are named as such
    lazy, style = new.file("assets/lazy-", ".js"), new.file("assets/index-", ".css")
    shutil.copy(new.dist / script, site / script)
    shutil.copy(new.dist / style, site / lazy)
    with run_nginx(f"root {site};\n{PLAIN}") as nginx:
        code, report, _ = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 1
    assert (
        f"the served bytes are this build's {style}"
        in by_path(report, "LIVE_CHANGED")[lazy]["message"]
    )


def test_a_deleted_chunk_under_the_spa_fallback_is_a_fallback(
    builds: dict[str, Build], www: Path
) -> None:
    new = builds["new"]
    site = publish(new.dist, www / "site")
    lazy = new.file("assets/lazy-", ".js")
    (site / lazy).unlink()
    with run_nginx(f"root {site};\n{SPA}") as nginx:
        code, report, stderr = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 1
    assert codes(report) == ["LIVE_FALLBACK"], stderr
    fallback = by_path(report, "LIVE_FALLBACK")[lazy]
    assert "text/html (the entry page)" in fallback["message"]
    assert "ChunkLoadError" in fallback["message"]
    # without the fallback rule the same deletion is a missing file
    with run_nginx(f"root {site};\n{PLAIN}") as nginx:
        code, report, _ = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 1
    assert codes(report) == ["LIVE_MISSING"]
    assert by_path(report, "LIVE_MISSING")[lazy]["status"] == 404


def test_the_previous_build_is_a_stale_entry_naming_it(builds: dict[str, Build], www: Path) -> None:
    old, new = builds["old"], builds["new"]
    site = publish(old.dist, www / "site")  # its buildguard-manifest.json is served too
    with run_nginx(f"root {site};\n{SPA}") as nginx:
        code, report, stderr = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 1
    stale = by_path(report, "LIVE_STALE_ENTRY")["index.html"]
    assert stale["served_build"] == OLD_ID
    assert f"(build {OLD_ID})" in stale["message"]
    assert old.file("assets/index-", ".js") in stale["message"]
    entry = by_path(report, "LIVE_CHANGED")["index.html"]
    assert f"index.html of build {OLD_ID}" in entry["message"]
    assert report["served"][0]["build_id"] == OLD_ID
    assert f"build {OLD_ID}" in stderr  # the human report on stderr names it


def test_an_entry_page_rewritten_at_start_up_needs_allow_changed(
    builds: dict[str, Build], www: Path
) -> None:
    new, old = builds["new"], builds["old"]
    site = publish(new.dist, www / "site")
    page = (site / "index.html").read_text()
    (site / "index.html").write_text(
        page.replace("<head>", '<head>\n    <meta name="api" content="https://api.example">')
    )
    with run_nginx(f"root {site};\n{PLAIN}") as nginx:
        code, report, _ = live(nginx.url + "/", "--dist", str(new.dist))
        assert code == 1
        assert codes(report) == ["LIVE_CHANGED"]
        assert "index.html" in by_path(report, "LIVE_CHANGED")
        code, report, stderr = live(
            nginx.url + "/", "--dist", str(new.dist), "--allow-changed", "index.html"
        )
        assert code == 0, stderr
        assert report["served"][0]["this_build"] is True
        # exempt from the digest check, not from referencing only this build's files
        old_script = old.file("assets/index-", ".js")
        shutil.copy(old.dist / old_script, site / old_script)
        (site / "index.html").write_text(page.replace(new.file("assets/index-", ".js"), old_script))
        code, report, _ = live(
            nginx.url + "/", "--dist", str(new.dist), "--allow-changed", "index.html"
        )
    assert code == 1
    assert codes(report) == ["LIVE_STALE_ENTRY"]
    assert old_script in by_path(report, "LIVE_STALE_ENTRY")["index.html"]["message"]


def test_a_bundle_under_a_base_is_served_there(builds: dict[str, Build], www: Path) -> None:
    app = builds["app"]
    site = publish(app.dist, www / "app")
    config = f"location /app/ {{ alias {site}/; try_files $uri $uri/ /app/index.html; }}"
    with run_nginx(config) as nginx:
        code, report, stderr = live(nginx.url + "/app/", "--dist", str(app.dist), "--base", "/app/")
        assert code == 0, stderr
        assert report["stats"]["files_compared"] == 3
        assert {a["url"] for a in report["assets"]} >= {
            f"{nginx.url}/app/{app.file('assets/lazy-', '.js')}"
        }
        # the wrong base: nothing of the bundle maps, which must not pass
        code, report, _ = live(nginx.url + "/app/", "--dist", str(app.dist))
    assert code == 1
    assert "is --base the bundle's public base?" in report["findings"][0]["message"]


def test_a_cacheable_entry_page_is_a_warning(builds: dict[str, Build], www: Path) -> None:
    new = builds["new"]
    site = publish(new.dist, www / "site")
    config = f"""root {site};
        location = /index.html {{ add_header Cache-Control "max-age=3600"; }}
        {PLAIN}"""
    with run_nginx(config) as nginx:
        code, report, stderr = live(nginx.url + "/", "--dist", str(new.dist))
    assert code == 0, stderr
    assert codes(report) == []
    assert codes(report, "warning") == ["LIVE_ENTRY_CACHEABLE"]
    assert "max-age=3600" in report["findings"][0]["message"]
    assert "WARN LIVE_ENTRY_CACHEABLE" in stderr


BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
    "--dump-dom",
)


@pytest.mark.parametrize("which", ["new", "app"])
def test_the_files_checked_are_the_files_a_browser_loads(
    builds: dict[str, Build], www: Path, tmp_path: Path, which: str
) -> None:
    """Differential: headless Chromium runs the page (and its dynamic import); nginx's log
    of what it asked for must be what verify-live compared."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is required (apt-get install -y chromium; scripts/setup)"
    build = builds[which]
    site = publish(build.dist, www / "site")
    where = f"location {build.base} {{ alias {site}/; try_files $uri $uri/ =404; }}"
    config = f"access_log {www}/agents.log agents;\n{where}"
    with run_nginx(config, http="log_format agents '$http_user_agent|$uri';") as nginx:
        page = subprocess.run(
            [
                chromium,
                *BROWSER_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                nginx.url + build.base,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        code, report, stderr = live(
            nginx.url + build.base, "--dist", str(build.dist), "--base", build.base
        )
        log = (www / "agents.log").read_text().splitlines()
    assert 'title="lazy chunk"' in page.stdout, page.stderr[-2000:]  # the chunk ran
    assert code == 0, stderr
    browser = {
        uri for agent, uri in (line.split("|") for line in log) if "HeadlessChrome" in agent
    } - {"/favicon.ico"}
    ours = {
        uri for agent, uri in (line.split("|") for line in log) if agent.startswith("buildguard/")
    } - {build.base + "buildguard-manifest.json"}
    assert ours == browser
    assert len(browser) == 4
    assert report["stats"]["files_compared"] == 3


def upstream(first: int, second: int) -> str:
    return f"upstream backends {{ server 127.0.0.1:{first}; server 127.0.0.1:{second}; }}"


def test_an_old_backend_behind_round_robin_is_mixed(builds: dict[str, Build], www: Path) -> None:
    old, new = builds["old"], builds["new"]
    fresh = publish(new.dist, www / "new")
    stale = publish(old.dist, www / "old")
    with (
        run_nginx(f"root {fresh};\n{PLAIN}") as a,
        run_nginx(f"root {stale};\n{PLAIN}") as b,
        run_nginx(
            "location / { proxy_pass http://backends; }", http=upstream(a.port, b.port)
        ) as front,
    ):
        code, report, _ = live(front.url + "/", "--dist", str(new.dist), "--samples", "8")
    assert code == 1
    assert "LIVE_MIXED" in codes(report)
    versions = {v["build_id"]: v for v in report["served"]}
    assert versions[NEW_ID]["samples"] == 4 and versions[NEW_ID]["this_build"]
    assert versions[OLD_ID]["samples"] == 4 and not versions[OLD_ID]["this_build"]
    mixed = next(f for f in report["findings"] if f["code"] == "LIVE_MIXED")
    assert f"this build {NEW_ID}: 4" in mixed["message"]
    assert f"build {OLD_ID}: 4" in mixed["message"]


def test_samples_go_over_new_connections(builds: dict[str, Build], www: Path) -> None:
    new = builds["new"]
    site = publish(new.dist, www / "site")
    config = f"""root {site};
        access_log {www}/connections.log connections;
        {PLAIN}"""
    with run_nginx(config, http="log_format connections '$connection $uri';") as nginx:
        code, _, stderr = live(nginx.url + "/", "--dist", str(new.dist), "--samples", "5")
        log = (www / "connections.log").read_text().split("\n")
    assert code == 0, stderr
    entry_connections = [line.split()[0] for line in log if line.endswith(" /index.html")]
    assert len(entry_connections) == 5
    assert len(set(entry_connections)) == 5


def test_wait_passes_once_the_old_backend_is_switched(builds: dict[str, Build], www: Path) -> None:
    old, new = builds["old"], builds["new"]
    fresh = publish(new.dist, www / "new")
    stale = publish(old.dist, www / "old")
    current = www / "current"
    current.symlink_to(stale)
    with (
        run_nginx(f"root {fresh};\n{PLAIN}") as a,
        run_nginx(f"root {current};\n{PLAIN}") as b,
        run_nginx(
            "location / { proxy_pass http://backends; }", http=upstream(a.port, b.port)
        ) as front,
    ):
        proc = subprocess.Popen(
            [
                console_script(),
                "verify-live",
                front.url + "/",
                "--dist",
                str(new.dist),
                "--samples",
                "4",
                "--wait",
                "20s",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(3)
        swap_symlink(current, fresh)  # the rollout reaches the second backend
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["stats"]["attempts"] >= 2
    assert [v["build_id"] for v in report["served"]] == [NEW_ID]
    assert "attempt 1 failed (" in stderr and "trying again in" in stderr
    assert "\r" not in stderr  # plain lines when not on a terminal
