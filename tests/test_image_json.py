"""The readers decode image documents through the Go-faithful decoder (``gojson``): the
fields they act on are the ones Go fills, or the document is refused, naming the key.
(The comparison with Go itself is ``tests/test_gojson_differential.py``.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildguard._image import manifest as m
from buildguard._image.godocs import LayerSource, SaveManifestEntry, decode_save_manifest
from buildguard._image.layout import LayoutSource
from buildguard._image.registry import _declared_media_type
from buildguard.errors import DocumentRefused, ImageReadError

D1, D2 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
CONFIG = json.dumps({"mediaType": m.OCI_CONFIG, "size": 3, "digest": D1})


def layer(digest: str) -> str:
    return json.dumps(
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3, "digest": digest}
    )


def test_a_case_variant_key_is_refused_naming_it() -> None:
    data = f'{{"schemaVersion":2,"config":{CONFIG},"layers":[{layer(D1)}],"Layers":[{layer(D2)}]}}'
    data_b = data.encode()
    with pytest.raises(DocumentRefused, match="'Layers'"):
        m.document_kind(data_b, None, "manifest of x")


def test_escaped_keys_bind_exactly_as_go_binds_them() -> None:
    data = f'{{"schemaVersion":2,"config":{CONFIG},"l\\u0061yers":[{layer(D2)}]}}'.encode()
    kind, doc = m.document_kind(data, None, "manifest of x")
    assert kind == "manifest"
    assert [layer.digest for layer in m.parse_manifest(doc, "x").layers] == [D2]


def test_a_platform_is_decoded_whole_and_typed() -> None:
    entry = {
        "mediaType": m.OCI_MANIFEST,
        "digest": D1,
        "size": 3,
        "platform": {
            "os": "linux",
            "architecture": "arm64",
            "variant": "v8",
            "os.features": ["x"],
            "features": ["y"],
            "os.version": "1",
        },
    }
    _, doc = m.document_kind(json.dumps({"manifests": [entry]}).encode(), None, "index")
    assert m.parse_index(doc, "index").manifests[0].platform == m.Platform(
        "linux", "arm64", "v8", os_version="1", os_features=("x",), features=("y",)
    )
    entry["platform"] = {"os": "linux", "architecture": "amd64", "os.features": "x"}
    with pytest.raises(ImageReadError, match=r"os\.features"):
        m.document_kind(json.dumps({"manifests": [entry]}).encode(), None, "index")


def test_config_times_are_read_as_go_time_reads_them() -> None:
    base = '{"rootfs":{"diff_ids":["%s"]},"architecture":"amd64","os":"linux","created":%s}'
    config = m.parse_config((base % (D1, '"2024-01-02T03:04:05.123456789+01:00"')).encode(), "c")
    assert config.created is not None and config.created.hour == 2
    for bad in ('"2024-01-02T03:04:05\\u005a"', '"2024-01-02 03:04:05Z"', "1"):
        with pytest.raises(ImageReadError, match="created"):
            m.parse_config((base % (D1, bad)).encode(), "c")
    with pytest.raises(DocumentRefused, match="'diff_ids'"):
        m.parse_config(b'{"rootfs":{"diff_ids":[],"diff_ids":["%s"]}}' % D1.encode(), "c")


def test_index_json_annotations_are_read_once(tmp_path: Path) -> None:
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    names = '"org.opencontainers.image.ref.name":"a","org.opencontainers.image.ref.name":"b"'
    entry = f'{{"mediaType":"{m.OCI_MANIFEST}","digest":"{D1}","size":3,"annotations":{{{names}}}}}'
    (tmp_path / "index.json").write_text(f'{{"schemaVersion":2,"manifests":[{entry}]}}')
    with pytest.raises(DocumentRefused, match="twice"):
        LayoutSource(tmp_path, "b", "oci-layout:x").top_manifest()


def test_a_declared_media_type_is_the_one_go_reads() -> None:
    assert _declared_media_type(b'{"mediaType":"a"}') == "a"
    assert _declared_media_type(b'{"schemaVersion":2}') is None
    with pytest.raises(DocumentRefused):
        _declared_media_type(b'{"mediaType":"a","MediaType":"b"}')


def test_docker_save_manifest_json() -> None:
    data = json.dumps(
        [
            {
                "Config": "c.json",
                "RepoTags": ["app:1"],
                "Layers": ["l.tar"],
                "LayerSources": {D1: {"mediaType": "m", "size": 1, "digest": D2}},
            },
            None,
        ]
    ).encode()
    assert decode_save_manifest(data, "manifest.json") == (
        SaveManifestEntry(
            "c.json", ("app:1",), ("l.tar",), "", ((D1, LayerSource("m", D2, 1, ())),)
        ),
        SaveManifestEntry("", (), (), "", ()),
    )
    for bad, error in (
        (b'[{"config":"c.json"}]', DocumentRefused),
        (b'[{"Layers":["a"],"Layers":["b"]}]', DocumentRefused),
        (b'{"Config":"c.json"}', ImageReadError),
        (b"null", ImageReadError),
        (b'[{"Layers":"a"}]', ImageReadError),
        (b"[]x", ImageReadError),
    ):
        with pytest.raises(error):
            decode_save_manifest(bad, "manifest.json")
