"""``verify --attest`` and ``verify-attestation`` end to end on a real docker-registry,
through the installed CLI: the example OCI layout pushed with skopeo, verified against its
record, attested, and the attestation read back and judged."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from attestkeys import KeyFiles, make_key
from clitools import buildguard_cli
from services import AuthRegistry, Registry

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples" / "images" / "layout"
RECORD = ROOT / "examples" / "images" / "record.json"
BUILD_ID = "example-build-0002"
DSSE = "application/vnd.dsse.envelope.v1+json"
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def layout_digest(tag: str) -> str:
    index = json.loads((LAYOUT / "index.json").read_text())
    return next(
        m["digest"]
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    )


def push(tag: str, dest: str) -> None:
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
            f"oci:{LAYOUT}:{tag}",
            f"docker://{dest}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "docker-config"
    config.mkdir()
    return {"DOCKER_CONFIG": str(config), "BUILD_ID": "", "COMMIT_SHA": ""}


def fresh_repo(registry: Registry, name: str, tag: str = "fresh") -> str:
    """A repository of its own per test, holding the layout's ``tag``."""
    push(tag, f"{registry.host}/{name}:{tag}")
    return f"{registry.host}/{name}"


def verify(image: str, key: str, tmp_path: Path, env: dict[str, str], *extra: str):  # type: ignore[no-untyped-def]
    return buildguard_cli(
        "verify", image, "--record", str(RECORD), "--attest", key, *extra, cwd=tmp_path, env=env
    )


def check(image: str, pub: Path, tmp_path: Path, env: dict[str, str], *extra: str):  # type: ignore[no-untyped-def]
    return buildguard_cli(
        "verify-attestation", image, "--key", str(pub), "--json", *extra, cwd=tmp_path, env=env
    )


def att_manifest(registry: Registry, repo: str, digest: str) -> dict:  # type: ignore[type-arg]
    tag = digest.replace(":", "-") + ".att"
    got = httpx.get(f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT})
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def blob(registry: Registry, repo: str, digest: str) -> bytes:
    got = httpx.get(f"{registry.url}/v2/{repo}/blobs/{digest}", follow_redirects=True)
    assert got.status_code == 200
    return got.content


def put_att(registry: Registry, repo: str, digest: str, envelopes: list[bytes]) -> None:
    """Write ``sha256-HEX.att`` ourselves (an attacker's or another tool's attestation)."""
    import hashlib

    def upload(data: bytes) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        start = httpx.post(f"{registry.url}/v2/{repo}/blobs/uploads/")
        loc = httpx.URL(registry.url).join(start.headers["location"])
        done = httpx.put(loc.copy_merge_params({"digest": d}), content=data)
        assert done.status_code == 201, done.text
        return d

    config = b"{}"
    layers = [
        {"mediaType": DSSE, "size": len(e), "digest": upload(e), "annotations": {}}
        for e in envelopes
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": ACCEPT,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": len(config),
            "digest": upload(config),
        },
        "layers": layers,
    }
    tag = digest.replace(":", "-") + ".att"
    put = httpx.put(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        content=json.dumps(manifest).encode(),
        headers={"Content-Type": ACCEPT},
    )
    assert put.status_code == 201, put.text


def reason(done: subprocess.CompletedProcess[str]) -> str:
    report = json.loads(done.stdout)
    return " | ".join(
        f"{p['check']}: {p['message']}" for a in report["attestations"] for p in a["problems"]
    )


def test_a_passing_verify_attaches_a_vsa_that_verify_attestation_accepts(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    key = make_key(tmp_path / "keys", "team")
    repo = fresh_repo(registry, "attest/pass")
    digest = layout_digest("fresh")
    out = tmp_path / "vsa.json"
    done = verify(
        f"{repo}@{digest}", f"file:{key.private}", tmp_path, env, "--attest-out", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "attested:" in done.stdout

    manifest = att_manifest(registry, "attest/pass", digest)
    assert manifest["mediaType"] == ACCEPT
    [layer] = manifest["layers"]
    assert layer["mediaType"] == DSSE
    assert layer["annotations"] == {
        "dev.cosignproject.cosign/signature": "",
        "predicateType": "https://slsa.dev/verification_summary/v1",
    }
    envelope = json.loads(blob(registry, "attest/pass", layer["digest"]))
    assert envelope == json.loads(out.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert [s["keyid"] for s in envelope["signatures"]] == [key.keyid]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {"name": "attest/pass".join([registry.host + "/", ""]), "digest": {"sha256": digest[7:]}}
    ]
    predicate = statement["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["BUILDGUARD_BUNDLE_MATCH_V1"]
    assert predicate["resourceUri"] == f"{registry.host}/attest/pass@{digest}"

    for ref in (f"{repo}@{digest}", f"{repo}:fresh"):
        ok = check(ref, key.public, tmp_path, env, "--expect-build-id", BUILD_ID)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        report = json.loads(ok.stdout)
        assert report["ok"] is True
        assert report["key_id"] == key.keyid
        assert report["attestations"][0]["build_id"] == BUILD_ID


def test_a_second_key_is_kept_beside_the_first(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    first = make_key(tmp_path / "keys", "first")
    second = make_key(tmp_path / "keys", "second", kind="ed25519")
    repo = fresh_repo(registry, "attest/two")
    digest = layout_digest("fresh")
    for key in (first, second):
        done = verify(f"{repo}@{digest}", f"file:{key.private}", tmp_path, env)
        assert done.returncode == 0, done.stderr
    layers = att_manifest(registry, "attest/two", digest)["layers"]
    assert len(layers) == 2
    for key in (first, second):
        ok = check(f"{repo}@{digest}", key.public, tmp_path, env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        report = json.loads(ok.stdout)
        assert [a["ok"] for a in report["attestations"]].count(True) == 1


def test_a_failed_verify_attaches_nothing(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    key = make_key(tmp_path / "keys", "team")
    repo = fresh_repo(registry, "attest/stale", tag="stale")
    digest = layout_digest("stale")
    done = verify(f"{repo}@{digest}", f"file:{key.private}", tmp_path, env)
    assert done.returncode == 1, done.stdout + done.stderr
    tag = digest.replace(":", "-") + ".att"
    got = httpx.get(f"{registry.url}/v2/attest/stale/manifests/{tag}", headers={"Accept": ACCEPT})
    assert got.status_code == 404
    refused = check(f"{repo}@{digest}", key.public, tmp_path, env)
    assert refused.returncode == 1
    assert "no attestation is attached" in json.loads(refused.stdout)["message"]


@pytest.fixture
def attested(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> tuple[str, str, KeyFiles, bytes]:
    """(repository reference, digest, key, envelope) of a passing, attested verify."""
    key = make_key(tmp_path / "keys", "team")
    repo = fresh_repo(registry, f"attest/refuse-{tmp_path.name.lower()[-20:]}")
    digest = layout_digest("fresh")
    out = tmp_path / "vsa.json"
    done = verify(
        f"{repo}@{digest}", f"file:{key.private}", tmp_path, env, "--attest-out", str(out)
    )
    assert done.returncode == 0, done.stderr
    return repo, digest, key, out.read_bytes().strip()


def test_a_tampered_payload_is_refused(
    attested: tuple[str, str, KeyFiles, bytes],
    registry: Registry,
    tmp_path: Path,
    env: dict[str, str],
) -> None:
    repo, digest, key, envelope = attested
    doc = json.loads(envelope)
    statement = json.loads(base64.b64decode(doc["payload"]))
    statement["predicate"][
        "https://github.com/buildguard/buildguard/blob/main/docs/attest.md#bundles-v1"
    ]["buildId"] = "evil"
    doc["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    put_att(registry, repo.split("/", 1)[1], digest, [json.dumps(doc).encode()])
    done = check(f"{repo}@{digest}", key.public, tmp_path, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bad signature" in reason(done)
    assert "bad signature" in done.stderr


def test_a_signature_by_another_key_is_refused(
    attested: tuple[str, str, KeyFiles, bytes], tmp_path: Path, env: dict[str, str]
) -> None:
    repo, digest, _, _ = attested
    other = make_key(tmp_path / "other", "other")
    done = check(f"{repo}@{digest}", other.public, tmp_path, env)
    assert done.returncode == 1
    assert f"not signed by key {other.keyid[:16]}" in reason(done)


def test_an_attestation_of_another_digest_is_refused(
    attested: tuple[str, str, KeyFiles, bytes],
    registry: Registry,
    tmp_path: Path,
    env: dict[str, str],
) -> None:
    repo, digest, key, envelope = attested
    push("stale", f"{repo}:stale")
    stale = layout_digest("stale")
    put_att(registry, repo.split("/", 1)[1], stale, [envelope])  # the fresh image's VSA
    done = check(f"{repo}@{stale}", key.public, tmp_path, env)
    assert done.returncode == 1
    assert f"subject: it attests another digest (sha256:{digest[7:19]}" in reason(done)


def test_an_attestation_of_another_build_is_refused(
    attested: tuple[str, str, KeyFiles, bytes], tmp_path: Path, env: dict[str, str]
) -> None:
    repo, digest, key, _ = attested
    done = check(f"{repo}@{digest}", key.public, tmp_path, env, "--expect-build-id", "build-7")
    assert done.returncode == 1
    assert f"build_id: it attests build '{BUILD_ID}', not the expected 'build-7'" in reason(done)
    commit = check(f"{repo}@{digest}", key.public, tmp_path, env, "--expect-commit", "abc123")
    assert commit.returncode == 1
    assert "commit: it attests commit" in reason(commit)


@pytest.mark.parametrize(
    "spec", ["file:{missing}", "file:{garbage}", "env:BG_NO_SUCH_KEY", "pem:x"]
)
def test_a_key_that_cannot_be_read_is_exit_2_before_anything_is_written(
    spec: str, registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text(
        "-----BEGIN PRIVATE KEY-----\nQUJDREVGR0hJSktMTU5PUA==\n-----END PRIVATE KEY-----\n"
    )
    key = spec.format(missing=tmp_path / "missing.pem", garbage=garbage)
    repo = f"{registry.host}/attest/never-pushed"
    out = tmp_path / "vsa.json"
    done = buildguard_cli(
        "verify",
        f"{repo}:fresh",
        "--record",
        str(RECORD),
        "--attest",
        key,
        "--attest-out",
        str(out),
        "-vv",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert not out.exists()
    # nothing was read: no request reached the registry for this repository
    assert "attest/never-pushed" not in done.stderr
    assert "QUJDREVGR0hJSktMTU5PUA" not in done.stderr + done.stdout


def test_the_private_key_never_appears_at_vv(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    key = make_key(tmp_path / "keys", "team")
    repo = fresh_repo(registry, "attest/quiet")
    digest = layout_digest("fresh")
    body = "".join(key.private_pem.splitlines()[1:-1])
    for spec, extra in ((f"file:{key.private}", {}), ("env:BG_KEY", {"BG_KEY": key.private_pem})):
        done = verify(f"{repo}@{digest}", spec, tmp_path, {**env, **extra}, "-vv", "--json")
        assert done.returncode == 0, done.stderr
        assert "attached" in done.stderr or "attested" in done.stderr
        for chunk in (body, body[:40], body[-40:]):
            assert chunk not in done.stdout + done.stderr


def test_a_writer_that_replaces_the_tag_between_read_and_write_is_merged_on_retry(
    registry: Registry, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer's PUT lands right after ours, without our layer: the read-back sees
    ours missing, and the next round keeps both."""
    from buildguard._attest import attach as attach_module
    from buildguard._attest.ocistore import AttestationRegistry

    monkeypatch.setenv("DOCKER_CONFIG", env["DOCKER_CONFIG"])
    repo = fresh_repo(registry, "attest/race")
    digest = layout_digest("fresh")
    theirs = b'{"payload":"","payloadType":"x","signatures":[]}'
    real_put = AttestationRegistry.put_manifest_bytes
    raced: list[int] = []

    def racing_put(self: AttestationRegistry, tag: str, data: bytes, media_type: str) -> None:
        real_put(self, tag, data, media_type)
        if not raced:  # the other writer read before our PUT and writes after it
            raced.append(1)
            put_att(registry, "attest/race", digest, [theirs])

    monkeypatch.setattr(AttestationRegistry, "put_manifest_bytes", racing_put)
    ours = b'{"payload":"","payloadType":"ours","signatures":[]}'
    done = attach_module.attach(repo, digest, ours, "https://example.com/p", backoff=0.0)
    assert done.attempts == 2
    layers = att_manifest(registry, "attest/race", digest)["layers"]
    blobs = {blob(registry, "attest/race", layer["digest"]) for layer in layers}
    assert blobs == {theirs, ours}


def push_index(registry: Registry, repo: str) -> None:
    """``repo:multi``, an index naming the layout's fresh image for linux/amd64."""
    from registryhelpers import put_manifest as put_raw

    fresh = layout_digest("fresh")
    size = len((LAYOUT / "blobs/sha256" / fresh.split(":")[1]).read_bytes())
    child = {
        "mediaType": ACCEPT,
        "digest": fresh,
        "size": size,
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    index_type = "application/vnd.oci.image.index.v1+json"
    body = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": [child]})
    with httpx.Client(timeout=60) as client:
        put_raw(client, registry.url, repo, "multi", body.encode(), index_type, {})


def test_an_index_verified_with_platform_all_covers_its_platforms(
    registry: Registry, tmp_path: Path, env: dict[str, str]
) -> None:
    key = make_key(tmp_path / "keys", "team")
    repo = fresh_repo(registry, "attest/index")
    push_index(registry, "attest/index")
    fresh = layout_digest("fresh")
    done = verify(f"{repo}:multi", f"file:{key.private}", tmp_path, env, "--platform", "all")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("attested:") == 2  # the index's .att and the platform's
    assert check(f"{repo}:multi", key.public, tmp_path, env).returncode == 0
    child = check(f"{repo}@{fresh}", key.public, tmp_path, env)
    assert child.returncode == 0, child.stdout + child.stderr

    # one platform verified: only that manifest is attested, not the index
    single = fresh_repo(registry, "attest/single")
    push_index(registry, "attest/single")
    done = verify(f"{single}:multi", f"file:{key.private}", tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert check(f"{single}@{fresh}", key.public, tmp_path, env).returncode == 0
    index = check(f"{single}:multi", key.public, tmp_path, env)
    assert index.returncode == 1
    assert "no attestation is attached" in json.loads(index.stdout)["message"]


def test_attach_with_credentials_from_the_docker_config(
    auth_registry: AuthRegistry, tmp_path: Path
) -> None:
    key = make_key(tmp_path / "keys", "team")
    creds = f"{auth_registry.username}:{auth_registry.password}"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            f"oci:{LAYOUT}:fresh",
            f"docker://{auth_registry.host}/attest/auth:fresh",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    config = tmp_path / "with-creds"
    config.mkdir()
    auth_registry.write_docker_config(config)
    env = {"DOCKER_CONFIG": str(config), "BUILD_ID": "", "COMMIT_SHA": ""}
    image = f"{auth_registry.host}/attest/auth@{layout_digest('fresh')}"
    done = verify(image, f"file:{key.private}", tmp_path, env, "-vv")
    assert done.returncode == 0, done.stdout + done.stderr
    ok = check(image, key.public, tmp_path, env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert auth_registry.password not in done.stdout + done.stderr + ok.stdout + ok.stderr
    (tmp_path / "empty").mkdir()
    denied = check(image, key.public, tmp_path, {**env, "DOCKER_CONFIG": str(tmp_path / "empty")})
    assert denied.returncode == 3, denied.stderr


def test_the_python_api(
    attested: tuple[str, str, KeyFiles, bytes],
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import buildguard
    from buildguard.models import AttestationReport

    monkeypatch.setenv("DOCKER_CONFIG", env["DOCKER_CONFIG"])
    repo, digest, key, _ = attested
    report = buildguard.verify_attestation(f"{repo}@{digest}", str(key.public))
    assert isinstance(report, AttestationReport) and report.ok
    assert report.image.digest == digest and report.key_id == key.keyid
    other = buildguard.verify_attestation(
        f"{repo}@{digest}", f"file:{key.public}", expect_build_id="someone-else"
    )
    assert not other.ok
    assert [p.check for p in other.attestations[0].problems] == ["build_id"]
    with pytest.raises(buildguard.UsageError):
        buildguard.verify_attestation(f"oci-layout:{LAYOUT}:fresh", str(key.public))


def test_a_layout_is_attested_to_a_file_only(tmp_path: Path, env: dict[str, str]) -> None:
    key = make_key(tmp_path / "keys", "team", kind="ed25519")
    image = f"oci-layout:{LAYOUT}:fresh"
    refused = verify(image, f"file:{key.private}", tmp_path, env)
    assert refused.returncode == 2, refused.stderr
    assert "--attest-out" in refused.stderr
    out = tmp_path / "vsa.json"
    done = verify(image, f"file:{key.private}", tmp_path, env, "--attest-out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    envelope = json.loads(out.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][0]["digest"] == {"sha256": layout_digest("fresh")[7:]}
    assert "attested:" not in done.stdout  # nothing attached anywhere


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["verify", "127.0.0.1:9/a/b:v1", "--attest-out", "x.json"], "--attest-out goes with"),
        (["verify", "--from-build", "b-123456", "--attest", "file:k"], "not with --from-build"),
        (["verify-attestation", "127.0.0.1:9/a/b:v1"], "--key"),
    ],
)
def test_usage_errors_are_exit_2_before_anything_is_read(
    argv: list[str], said: str, tmp_path: Path, env: dict[str, str]
) -> None:
    done = buildguard_cli(*argv, cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("argv", "exit_code", "kind"),
    [
        (["127.0.0.1:9/never/read:v1"], 3, "unreadable"),
        (["127.0.0.1:9/never/read:v1", "--key-missing"], 2, "usage"),
    ],
)
def test_verify_attestation_errors_are_json_documents(
    argv: list[str], exit_code: int, kind: str, tmp_path: Path, env: dict[str, str]
) -> None:
    key = make_key(tmp_path / "keys", "team")
    args = ["--key", str(key.public)] if "--key-missing" not in argv else []
    done = buildguard_cli(
        "verify-attestation", argv[0], *args, "--json", cwd=tmp_path, env=env, timeout=120
    )
    assert done.returncode == exit_code, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert doc["error"]["kind"] == kind and doc["error"]["exit_code"] == exit_code
