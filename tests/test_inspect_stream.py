"""inspect --json streams its listing: the same document as the whole model, any size."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from imagecorpus import d, f, tar_bytes, write_layout

from buildguard._formats.inspectjson import write_json
from buildguard._image import open_image
from buildguard._inspect import report_of, stream_of


@pytest.mark.parametrize("paths", [(), ("/app",), ("/nothing",)])
def test_streamed_json_is_the_model_json(tmp_path: Path, paths: tuple[str, ...]) -> None:
    write_layout(tmp_path / "l", [tar_bytes([d("app"), f("app/a.js", "a"), f("b", 'b\\"')])])
    with open_image(f"oci-layout:{tmp_path / 'l'}:latest") as image:
        flat = image.read(paths)
    whole = report_of(flat, paths)
    out = io.StringIO()
    head, files = stream_of(flat, paths)
    write_json(head, files, out)
    assert json.loads(out.getvalue()) == json.loads(whole.model_dump_json())
    assert out.getvalue().endswith("}\n")
