"""verify-live's exit codes and limits against real nginx: unreachable (3), bad URL (2), a
redirect loop (3), TLS and --insecure, --header sent but never shown, the expected bundle
from --manifest and from an image, --report / --junit, and a 1 GB body read in flat memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clitools import buildguard_cli, console_script
from imagecorpus import f, tar_bytes, write_layout
from nginx import publish, run_nginx, world_readable_dir
from selfsigned import make_cert
from services import free_port

import buildguard
from buildguard.models import BundleManifest, FileEntry

INDEX = b"""<!doctype html><html><head>
<script type="module" src="/assets/app.js"></script>
<link rel="stylesheet" href="/assets/app.css">
</head><body></body></html>
"""
APP_JS = b"console.log('live site');\n"
APP_CSS = b"body { margin: 0 }\n"
BUILD = "errors-build-0001"


def entry(
    path: str, data: bytes | None = None, *, sha: str | None = None, size: int | None = None
) -> FileEntry:
    return FileEntry(
        path=path,
        sha256=sha or hashlib.sha256(data or b"").hexdigest(),
        size=len(data) if data is not None else size or 0,
        mode=0o644,
        mtime=datetime(2026, 1, 1, tzinfo=UTC),
    )


def manifest_for(files: list[FileEntry], build_id: str = BUILD) -> BundleManifest:
    now = datetime.now(UTC)
    return BundleManifest(
        build_id=build_id,
        commit=None,
        source_digest="sha256:" + "0" * 64,
        record_started_at=now,
        sealed_at=now,
        freshness="canary",
        files=tuple(files),
    )


@pytest.fixture
def site() -> Iterator[Path]:
    """A tiny sealed bundle (hand-written: these tests are about the site, not the build)."""
    root = world_readable_dir()
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    for name, data in (
        ("index.html", INDEX),
        ("assets/app.js", APP_JS),
        ("assets/app.css", APP_CSS),
    ):
        (dist / name).write_bytes(data)
    manifest = manifest_for(
        [
            entry("index.html", INDEX),
            entry("assets/app.js", APP_JS),
            entry("assets/app.css", APP_CSS),
        ]
    )
    (dist / "buildguard-manifest.json").write_text(manifest.model_dump_json(indent=2))
    publish(dist, root / "www")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def errors(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The error findings of a --json run (nginx's default headers add the warning
    LIVE_ENTRY_CACHEABLE: Last-Modified without Cache-Control)."""
    return [f for f in json.loads(done.stdout)["findings"] if f["severity"] == "error"]


def live(*args: str) -> subprocess.CompletedProcess[str]:
    return buildguard_cli("verify-live", *args, timeout=120, env={"BUILD_ID": ""})


def test_an_unreachable_site_is_exit_3(site: Path) -> None:
    port = free_port()  # nothing listens there
    done = live(f"http://127.0.0.1:{port}/", "--dist", str(site / "dist"))
    assert done.returncode == 3, done.stderr
    assert f"could not read http://127.0.0.1:{port}/: ConnectError" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/",
        "http://",
        "http://127.0.0.1:99999/",
        "not a url",
        "http://user:pw@127.0.0.1/",
    ],
)
def test_a_bad_url_is_exit_2(site: Path, url: str) -> None:
    done = live(url, "--dist", str(site / "dist"))
    assert done.returncode == 2, done.stderr
    assert "bad URL" in done.stderr
    assert "pw" not in done.stderr


def test_a_redirect_loop_is_exit_3(site: Path) -> None:
    config = f"""root {site / "www"};
        location = / {{ return 302 /a; }}
        location = /a {{ return 301 /b; }}
        location = /b {{ return 302 http://127.0.0.1:$server_port/a; }}"""
    with run_nginx(config) as nginx:
        done = live(nginx.url + "/", "--dist", str(site / "dist"))
    assert done.returncode == 3, done.stderr
    assert (
        f"redirect loop: {nginx.url}/ -> {nginx.url}/a -> {nginx.url}/b -> "
        f"{nginx.url}/a" in done.stderr
    )


def test_a_redirect_to_the_entry_page_is_followed(site: Path) -> None:
    config = f"""root {site / "www"};
        location = /start {{ return 302 /; }}
        location / {{ try_files $uri $uri/ =404; }}"""
    with run_nginx(config) as nginx:
        done = live(nginx.url + "/start", "--dist", str(site / "dist"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assets"][0]["url"] == nginx.url + "/"


def test_the_header_is_sent_and_never_shown(site: Path, tmp_path: Path) -> None:
    secret = "s3cr3t-preview-token-4711"
    config = f"""root {site / "www"};
        location / {{
            if ($http_x_preview_token != "{secret}") {{ return 401; }}
            try_files $uri $uri/ =404;
        }}"""
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with run_nginx(config) as nginx:
        refused = live(nginx.url + "/", "--dist", str(site / "dist"))
        done = live(
            nginx.url + "/",
            "--dist",
            str(site / "dist"),
            "-vv",
            "--json",
            "--header",
            f"X-Preview-Token: {secret}",
            "--report",
            str(report),
            "--junit",
            str(junit),
        )
    assert refused.returncode == 1
    assert "LIVE_MISSING" in refused.stdout + refused.stderr
    assert done.returncode == 0, done.stderr
    assert "GET http://127.0.0.1" in done.stderr  # -vv logs the requests...
    for text in (done.stdout, done.stderr, report.read_text(), junit.read_text()):
        assert secret not in text  # ...never the header
    assert json.loads(report.read_text()) == json.loads(done.stdout)
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "6" and suite.get("failures") == "0"


def test_wait_shows_progress_on_a_terminal(site: Path) -> None:
    import pty
    import select

    with run_nginx(f"root {site / 'www'};\nlocation / {{ return 503; }}") as nginx:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [
                console_script(),
                "verify-live",
                nginx.url + "/",
                "--dist",
                str(site / "dist"),
                "--wait",
                "2s",
            ],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
            close_fds=True,
        )
        os.close(follower)
        seen = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            try:
                chunk = os.read(leader, 65536) if ready else b""
            except OSError:  # the other side closed
                chunk = b""
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=30)
        os.close(leader)
    assert proc.returncode == 1
    text = seen.decode(errors="replace")
    assert "\r\x1b[Kverify-live: attempt 1 failed (LIVE_MISSING)" in text
    assert "FAIL LIVE_MISSING" in text


@pytest.mark.parametrize(
    "header",
    [
        "no colon s3cr3t",
        "X-Token: t\u00f6ken-s3cr3t",
        "X-Token: a\x01s3cr3t",
        "X-Token: a\x7fs3cr3t",
    ],
)
def test_a_bad_header_is_exit_2(site: Path, header: str) -> None:
    done = live("http://127.0.0.1:1/", "--dist", str(site / "dist"), "--header", header)
    assert done.returncode == 2, done.stderr
    assert "s3cr3t" not in done.stderr and "\\x" not in done.stderr
    name, colon, value = header.partition(":")
    if colon:  # the library refuses the value too, before any request
        with pytest.raises(buildguard.UsageError) as raised:
            buildguard.verify_live(
                "http://127.0.0.1:1/",
                dist=site / "dist",
                environ={},
                site_options=buildguard.SiteOptions(headers=[(name, value.strip())]),
            )
        assert "s3cr3t" not in str(raised.value)


def test_tls_is_verified_unless_insecure(site: Path) -> None:
    key, cert = make_cert(site)
    port = free_port()
    config = f"""root {site / "www"};
        location / {{ try_files $uri =404; }}
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert}; ssl_certificate_key {key};
        root {site / "www"};
        location / {{ try_files $uri $uri/ =404; }}"""
    with run_nginx(config):
        url = f"https://127.0.0.1:{port}/"
        refused = live(url, "--dist", str(site / "dist"))
        done = live(url, "--dist", str(site / "dist"), "--insecure")
    assert refused.returncode == 3, refused.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert done.returncode == 0, done.stderr


def test_the_expected_bundle_from_a_manifest_file_and_from_an_image(
    site: Path, tmp_path: Path
) -> None:
    dist = site / "dist"
    layer = tar_bytes(
        [
            f(f"usr/share/nginx/html/{p.relative_to(dist).as_posix()}", p.read_bytes())
            for p in sorted(dist.rglob("*"))
            if p.is_file()
        ]
    )
    write_layout(tmp_path / "layout", [layer], tag="web")
    with run_nginx(f"root {site / 'www'};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
        by_file = live(nx.url + "/", "--manifest", str(dist / "buildguard-manifest.json"))
        by_image = live(nx.url + "/", "--image", f"oci-layout:{tmp_path / 'layout'}:web", "--json")
        by_path = live(
            nx.url + "/",
            "--image",
            f"oci-layout:{tmp_path / 'layout'}:web",
            "--path",
            "/usr/share/nginx/html/",
        )
        wrong_path = live(
            nx.url + "/", "--image", f"oci-layout:{tmp_path / 'layout'}:web", "--path", "/app"
        )
        wrong_id = live(nx.url + "/", "--dist", str(dist), "--expect-build-id", "other-id")
    assert by_file.returncode == 0, by_file.stderr
    assert by_image.returncode == 0, by_image.stderr
    assert json.loads(by_image.stdout)["expected"]["source"].endswith("/usr/share/nginx/html")
    assert by_path.returncode == 0, by_path.stderr
    assert wrong_path.returncode == 2
    assert "no sealed bundle at /app" in wrong_path.stderr
    assert wrong_id.returncode == 1
    assert "BUILD_ID_MISMATCH" in wrong_id.stdout


def test_the_expected_bundle_is_given_once(site: Path) -> None:
    done = live(
        "http://127.0.0.1:1/",
        "--dist",
        str(site / "dist"),
        "--manifest",
        str(site / "dist/buildguard-manifest.json"),
    )
    assert done.returncode == 2
    none = live("http://127.0.0.1:1/")
    assert none.returncode == 2


GIB = 1 << 30


def zeros_sha256(size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size // len(block)):
        digest.update(block)
    return digest.hexdigest()


def max_rss_kib(args: list[str]) -> tuple[int, int, str]:
    """Run a command under GNU time; return (exit code, its peak RSS in KiB, stderr).

    Not ``wait4`` on our own child: a forked child's peak RSS counts the pages it shared
    with this (large) pytest process before it exec'ed.
    """
    gnu_time = shutil.which("time", path="/usr/bin") or "/usr/bin/time"
    done = subprocess.run(
        [gnu_time, "-f", "maxrss=%M", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("maxrss="), done.stderr
    return done.returncode, int(lines[-1].split("=", 1)[1]), "\n".join(lines[:-1])


def test_a_1_gib_body_is_read_in_flat_memory(tmp_path: Path) -> None:
    root = world_readable_dir()
    try:
        page = b'<!doctype html><link rel="preload" href="/big.wasm" as="fetch">\n'
        (root / "index.html").write_bytes(page)
        (root / "index.html").chmod(0o644)
        with open(root / "big.wasm", "wb") as big:
            big.truncate(GIB)  # sparse: no disk used, nginx sends zeros
        (root / "big.wasm").chmod(0o644)
        manifest = tmp_path / "buildguard-manifest.json"
        manifest.write_text(
            manifest_for(
                [
                    entry("index.html", page),
                    entry("big.wasm", sha=zeros_sha256(GIB), size=GIB),
                ]
            ).model_dump_json()
        )
        with run_nginx(f"root {root};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
            code, rss, err = max_rss_kib(
                [console_script(), "verify-live", nx.url + "/", "--manifest", str(manifest)]
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert code == 0, err
    print(f"verify-live of a 1 GiB body: peak RSS {rss / 1024:.0f} MiB")
    assert rss < 150 * 1024, f"peak RSS {rss / 1024:.0f} MiB"


def test_the_report_schema_names_the_live_codes() -> None:
    from buildguard._schemas import schema_documents

    schema: dict[str, Any] = json.loads(schema_documents()["verify-live-report.schema.json"])
    codes = schema["$defs"]["LiveFinding"]["properties"]["code"]["enum"]
    assert {
        "LIVE_CHANGED",
        "LIVE_FALLBACK",
        "LIVE_MISSING",
        "LIVE_STALE_ENTRY",
        "LIVE_MIXED",
        "LIVE_ENTRY_CACHEABLE",
    } <= set(codes)


def test_the_library_returns_a_report_and_raises_typed_errors(site: Path) -> None:
    with run_nginx(f"root {site / 'www'};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
        report = buildguard.verify_live(
            nx.url + "/",
            dist=site / "dist",
            site_options=buildguard.SiteOptions(samples=2),
            environ={},
        )
        (site / "www/assets/app.css").write_text("body { margin: 1px }\n")
        changed = buildguard.verify_live(nx.url + "/", dist=site / "dist", environ={})
    assert isinstance(report, buildguard.LiveReport)
    assert report.ok and report.stats.files_compared == 2
    assert [v.samples for v in report.served] == [2]
    assert not changed.ok
    assert [(f.code, f.path) for f in changed.findings if f.severity == "error"] == [
        ("LIVE_CHANGED", "assets/app.css")
    ]
    # nginx's default headers (Last-Modified, no Cache-Control): heuristic freshness
    assert [f.code for f in changed.findings if f.severity == "warning"] == ["LIVE_ENTRY_CACHEABLE"]
    with pytest.raises(buildguard.SiteReadError) as unreachable:
        buildguard.verify_live(f"http://127.0.0.1:{free_port()}/", dist=site / "dist")
    assert unreachable.value.exit_code == 3
    with pytest.raises(buildguard.UsageError):
        buildguard.verify_live(
            "http://127.0.0.1/", dist=site / "dist", site_options=buildguard.SiteOptions(samples=0)
        )


def test_assets_on_another_origin_are_fetched_as_given_and_mapped_under_the_base(
    tmp_path: Path,
) -> None:
    """A CDN origin: its URL paths map under --base like the site's; --header stays with
    the entry page's origin."""
    cdn_port = free_port()
    page = (
        f'<!doctype html><script type="module" src="http://127.0.0.1:{cdn_port}/app/'
        'assets/app.js"></script><link rel="stylesheet" href="/app/assets/app.css">\n'
    ).encode()
    root = world_readable_dir()
    try:
        for name, data in (
            ("index.html", page),
            ("assets/app.js", APP_JS),
            ("assets/app.css", APP_CSS),
        ):
            (root / "dist" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "dist" / name).write_bytes(data)
        manifest = tmp_path / "buildguard-manifest.json"
        manifest.write_text(
            manifest_for(
                [
                    entry("index.html", page),
                    entry("assets/app.js", APP_JS),
                    entry("assets/app.css", APP_CSS),
                ]
            ).model_dump_json()
        )
        site, cdn = publish(root / "dist", root / "site"), publish(root / "dist", root / "cdn")
        conf = "location /app/ {{ alias {}/; try_files $uri $uri/ =404; }}"
        log = "log_format secret '$http_x_preview_token|$uri';"
        with (
            run_nginx(conf.format(site)) as nx,
            run_nginx(
                f"access_log {root}/cdn.log secret;\n" + conf.format(cdn), http=log, port=cdn_port
            ),
        ):
            args = [nx.url + "/app/", "--manifest", str(manifest), "--base", "/app/", "--json"]
            done = live(*args, "--header", "X-Preview-Token: t0ken")
            (cdn / "assets/app.js").write_bytes(b"console.log('the CDN kept another');\n")
            changed = live(*args)
        cdn_log = (root / "cdn.log").read_text()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    fetched = {a["path"]: a["url"] for a in json.loads(done.stdout)["assets"]}
    assert fetched["assets/app.js"] == f"http://127.0.0.1:{cdn_port}/app/assets/app.js"
    assert fetched["assets/app.css"] == f"{nx.url}/app/assets/app.css"
    assert "/app/assets/app.js" in cdn_log and "t0ken" not in cdn_log
    assert changed.returncode == 1
    assert [(f["code"], f["path"]) for f in errors(changed)] == [("LIVE_CHANGED", "assets/app.js")]


def test_allow_changed_does_not_exempt_from_being_served(site: Path) -> None:
    www = site / "www"
    config = f"""root {www};
        location = /assets/app.js {{ return 503; }}
        location = /assets/app.css {{
            types {{ }} default_type text/html; try_files /index.html =404;
        }}
        location / {{ try_files $uri $uri/ =404; }}"""
    with run_nginx(config) as nginx:
        done = live(
            nginx.url + "/", "--dist", str(site / "dist"), "--json", "--allow-changed", "assets/*"
        )
        (www / "assets/app.js").unlink()
        (www / "index.html").unlink()
        entry_gone = live(
            nginx.url + "/", "--dist", str(site / "dist"), "--json", "--allow-changed", "*"
        )
    assert done.returncode == 1
    assert sorted((f["code"], f["path"]) for f in errors(done)) == [
        ("LIVE_FALLBACK", "assets/app.css"),
        ("LIVE_MISSING", "assets/app.js"),
    ]
    assert entry_gone.returncode == 1
    assert [(f["code"], f["path"]) for f in errors(entry_gone)] == [("LIVE_MISSING", "index.html")]


def test_the_expected_build_id_defaults_to_build_id(site: Path) -> None:
    with run_nginx(f"root {site / 'www'};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
        other = buildguard_cli(
            "verify-live",
            nx.url + "/",
            "--dist",
            str(site / "dist"),
            timeout=120,
            env={"BUILD_ID": "another-build-0002"},
        )
        same = buildguard_cli(
            "verify-live",
            nx.url + "/",
            "--dist",
            str(site / "dist"),
            timeout=120,
            env={"BUILD_ID": BUILD},
        )
    assert other.returncode == 1 and "BUILD_ID_MISMATCH" in other.stdout
    assert "not another-build-0002" in other.stdout
    assert same.returncode == 0, same.stdout + same.stderr


def test_changed_bytes_are_named_as_the_other_builds_file(site: Path) -> None:
    """Names that are not content-hashed: the previous build's app.js under the same name
    is named as that build's file, from the manifest the site serves at the base."""
    old_js = b"console.log('the previous build');\n"
    www = site / "www"
    (www / "assets/app.js").write_bytes(old_js)
    (www / "buildguard-manifest.json").write_text(
        manifest_for(
            [
                entry("index.html", INDEX),
                entry("assets/app.js", old_js),
                entry("assets/app.css", APP_CSS),
            ],
            build_id="errors-build-0000",
        ).model_dump_json()
    )
    with run_nginx(f"root {www};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
        done = live(nx.url + "/", "--dist", str(site / "dist"), "--json")
    assert done.returncode == 1
    (changed,) = errors(done)
    assert (changed["code"], changed["path"]) == ("LIVE_CHANGED", "assets/app.js")
    assert changed["served_build"] == "errors-build-0000"
    assert "the served bytes are assets/app.js of build errors-build-0000" in changed["message"]


def test_an_exempted_script_must_still_reference_only_this_builds_files(site: Path) -> None:
    """--allow-changed exempts a script rewritten at start-up from the digest check, not
    from importing only this build's chunks."""
    www = site / "www"
    args = ["--dist", str(site / "dist"), "--json", "--allow-changed", "assets/app.js"]
    with run_nginx(f"root {www};\nlocation / {{ try_files $uri $uri/ =404; }}") as nx:
        (www / "assets/app.js").write_bytes(b"window.API='https://api.example';\n")
        rewritten = live(nx.url + "/", *args)
        (www / "assets/chunk-old.js").write_bytes(b"export const old = 1;\n")
        (www / "assets/chunk-old.js").chmod(0o644)
        (www / "assets/app.js").write_bytes(
            b"window.API='https://api.example';import('./chunk-old.js');\n"
        )
        foreign = live(nx.url + "/", *args)
    assert rewritten.returncode == 0, rewritten.stdout + rewritten.stderr
    assert foreign.returncode == 1
    (finding,) = errors(foreign)
    assert (finding["code"], finding["path"]) == ("LIVE_CHANGED", "assets/app.js")
    assert "assets/chunk-old.js" in finding["message"] and "--allow-changed" in finding["message"]
