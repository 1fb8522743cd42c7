"""Flattening rules, on hand-written layers read through a real OCI layout.

Opaque whiteouts cannot be produced by the Docker on these machines (20.10 with the vfs
storage driver writes explicit whiteouts for each deleted child), so they are covered here
with hand-written tars only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from imagecorpus import E, d, f, hard, opq, sym, tar_bytes, wh, write_docker_archive, write_layout

from buildguard._image import FileTree, FlatImage, open_image
from buildguard.errors import HostileImage


def h(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def read(tmp_path: Path, *layers: list[E], paths: tuple[str, ...] = ()) -> FlatImage:
    write_layout(tmp_path / "layout", [tar_bytes(layer) for layer in layers])
    with open_image(f"oci-layout:{tmp_path / 'layout'}:latest") as image:
        return image.read(paths)


def tree(tmp_path: Path, *layers: list[E], paths: tuple[str, ...] = ()) -> FileTree:
    return read(tmp_path, *layers, paths=paths).tree


def test_add_overwrite_and_layer_index(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [d("app"), f("app/a.js", "v1"), f("app/b.js", "b")],
        [f("app/a.js", "v2")],
    )
    assert t["/app/a.js"].sha256 == h("v2") and t["/app/a.js"].layer == 1
    assert t["/app/b.js"].layer == 0
    assert t.paths() == ["/app", "/app/a.js", "/app/b.js"]


def test_whiteout_removes_file_and_subtree(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [d("app"), f("app/a"), d("app/sub"), f("app/sub/x"), f("app/keep")],
        [wh("app/a"), wh("app/sub")],
    )
    assert t.paths() == ["/app", "/app/keep"]


def test_whiteout_of_what_its_own_layer_wrote_is_refused(tmp_path: Path) -> None:
    """The OCI spec keeps /a (a whiteout hides lower layers only); dockerd and containerd
    apply whiteouts in tar order and delete it. Readings differ: refused."""
    with pytest.raises(HostileImage, match="this same layer wrote before it"):
        tree(tmp_path, [f("a", "old")], [f("a", "new"), wh("a")])
    with pytest.raises(HostileImage, match="this same layer wrote before it"):
        tree(tmp_path / "2", [d("d"), f("d/x", "old")], [f("d/y", "new"), wh("d")])
    t = tree(tmp_path / "3", [f("a", "old")], [wh("a"), f("a", "new")])
    assert t["/a"].sha256 == h("new"), "whiteout first, then the new file: all agree"


def test_opaque_dir_hides_lower_children_but_keeps_same_layer(tmp_path: Path) -> None:
    """Opaque whiteouts cannot be produced by this Docker (vfs): hand-written tars only."""
    t = tree(
        tmp_path,
        [d("app"), f("app/old1"), d("app/olddir"), f("app/olddir/x"), f("other")],
        [d("app"), f("app/new"), opq("app")],
        [f("app/later")],
    )
    assert t.paths() == ["/app", "/app/later", "/app/new", "/other"]


def test_opaque_marker_before_entries_in_tar_order(tmp_path: Path) -> None:
    """Markers apply to lower layers whatever their place in the tar."""
    t = tree(tmp_path, [d("app"), f("app/old")], [opq("app"), f("app/new")])
    assert t.paths() == ["/app", "/app/new"]


def test_dir_replaced_by_file_and_back(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [d("x"), f("x/inner"), d("x/deep"), f("x/deep/y")],
        [f("x", "now a file")],
        [d("x"), f("x/fresh")],
    )
    assert t.paths() == ["/x", "/x/fresh"]
    assert t["/x"].type == "dir" and t["/x"].layer == 2


def test_file_replaced_by_dir_keeps_nothing_old(tmp_path: Path) -> None:
    t = tree(tmp_path, [f("x", "file")], [d("x"), f("x/a")])
    assert t["/x"].type == "dir" and t.paths() == ["/x", "/x/a"]


def test_dir_over_dir_merges(tmp_path: Path) -> None:
    t = tree(tmp_path, [d("x", mode=0o700), f("x/a")], [d("x", mode=0o755), f("x/b")])
    assert t.paths() == ["/x", "/x/a", "/x/b"] and t["/x"].mode == 0o755


@pytest.mark.parametrize(
    "layer",
    [
        [f("a", "first"), f("a", "second")],
        [d("b"), f("b/c"), f("b", "file")],
        [d("b"), d("./b")],
        [wh("x"), wh("x")],
    ],
)
def test_a_path_twice_in_one_layer_is_refused(tmp_path: Path, layer: list[E]) -> None:
    """dockerd refuses such a layer (tar-split: "duplicates of file paths not supported");
    containerd applies the last. Readings differ: refused."""
    with pytest.raises(HostileImage, match="appears twice in the layer"):
        tree(tmp_path, [f("x")], layer)


def test_a_replaced_subtree_in_one_layer_is_not_a_duplicate(tmp_path: Path) -> None:
    t = tree(tmp_path, [d("b"), f("b/c"), d("e"), f("e/f"), f("g")])
    assert t.paths() == ["/b", "/b/c", "/e", "/e/f", "/g"]


def test_hardlink_takes_content_at_its_layer(tmp_path: Path) -> None:
    """A later layer replacing the target does not change the link (unlike ggcr #2002)."""
    t = tree(
        tmp_path,
        [f("data/orig", "old content"), hard("data/link", "data/orig")],
        [f("data/orig", "new content")],
    )
    assert t["/data/link"].type == "hardlink"
    assert t["/data/link"].sha256 == h("old content")
    assert t["/data/link"].size == len("old content")
    assert t["/data/link"].link_target == "/data/orig"
    assert t["/data/orig"].sha256 == h("new content")


def test_hardlink_to_lower_layer_file(tmp_path: Path) -> None:
    t = tree(tmp_path, [f("a", "x")], [hard("b", "./a")])
    assert t["/b"].sha256 == h("x") and t["/b"].layer == 1


def test_symlinks_recorded_not_followed(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [sym("etc/escape", "../../../../etc/shadow"), sym("abs", "/etc/passwd"), f("x")],
    )
    assert t["/etc/escape"].type == "symlink"
    assert t["/etc/escape"].link_target == "../../../../etc/shadow"
    assert t["/abs"].link_target == "/etc/passwd"
    assert t["/etc"].type == "dir"  # implicit parent


def test_prefixes_normalised(tmp_path: Path) -> None:
    t = tree(tmp_path, [f("./a/b"), f("/c"), f("a//d"), d("./")])
    assert t.paths() == ["/a", "/a/b", "/a/d", "/c"]


def test_pax_long_and_non_utf8_names(tmp_path: Path) -> None:
    long = "app/" + "x" * 300 + ".js"
    t = tree(tmp_path, [f(long, "long"), f("app/\udcfe\udcff.js", "raw bytes")])
    assert t["/" + long].sha256 == h("long")
    assert t["/app/\udcfe\udcff.js"].sha256 == h("raw bytes")


def test_only_asked_paths_hashed_plus_every_manifest(tmp_path: Path) -> None:
    manifest = b'{"build_id": "b-123456", "commit": "abc"}'
    t = tree(
        tmp_path,
        [
            f("app/dist/index.js", "js"),
            f("app/dist/buildguard-manifest.json", manifest),
            f("app/distx/other.js", "no"),
            f("srv/old/buildguard-manifest.json", "{}"),
            f("usr/lib/x.so", "lib"),
        ],
        paths=("/app/dist",),
    )
    assert t["/app/dist/index.js"].sha256 == h("js")
    assert t["/app/distx/other.js"].sha256 is None, "outside the paths asked: not hashed"
    assert t["/usr/lib/x.so"].sha256 is None, "but every entry is recorded"
    assert t["/srv/old/buildguard-manifest.json"].data == b"{}"
    assert t["/app/dist/buildguard-manifest.json"].data == manifest
    assert [m.path for m in t.manifests()] == [
        "/app/dist/buildguard-manifest.json",
        "/srv/old/buildguard-manifest.json",
    ]


def test_no_paths_hashes_everything(tmp_path: Path) -> None:
    t = tree(tmp_path, [f("a", "1"), f("b/c", "2")])
    assert t["/a"].sha256 == h("1") and t["/b/c"].sha256 == h("2")


@pytest.mark.parametrize(
    "layers",
    [
        [[f("../evil", "x")]],
        [[f("app/../../evil", "x")]],
        [[d("app"), hard("app/l", "../etc/passwd")]],
        [[hard("l", "does/not/exist")]],
        [[d("dir"), hard("l", "dir")]],
        [[f("ok")], [f("a/.wh...")]],
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "hardlink-outside",
        "hardlink-missing",
        "hardlink-dir",
        "whiteout-dotdot",
    ],
)
def test_hostile_entries_rejected_naming_layer(tmp_path: Path, layers: list[list[E]]) -> None:
    with pytest.raises(HostileImage, match=r"layer \d \(sha256:[0-9a-f]{64}\)") as info:
        read(tmp_path, *layers)
    assert "do not trust" in str(info.value)


def test_hardlink_to_later_replaced_target_in_archive(tmp_path: Path) -> None:
    """Same rule through the docker-archive reader."""
    layers = [
        tar_bytes([f("orig", "old"), hard("link", "orig")]),
        tar_bytes([f("orig", "new")]),
    ]
    write_docker_archive(tmp_path / "a.tar", layers)
    with open_image(f"docker-archive:{tmp_path / 'a.tar'}") as image:
        t = image.read().tree
    assert t["/link"].sha256 == h("old") and t["/orig"].sha256 == h("new")


def test_hostile_layer_in_archive_names_layer_index(tmp_path: Path) -> None:
    layers = [tar_bytes([f("ok", "x")]), tar_bytes([f("../../etc/cron.d/evil", "x")])]
    write_docker_archive(tmp_path / "a.tar", layers)
    with (
        pytest.raises(HostileImage, match=r"layer 1 .*'\.\.'"),
        open_image(f"docker-archive:{tmp_path / 'a.tar'}") as image,
    ):
        image.read()


def test_hostile_names_never_hashed_by_want(tmp_path: Path) -> None:
    """A '..' name under an asked path is refused when applied, not by the walker."""
    with pytest.raises(HostileImage, match="layer 0"):
        read(tmp_path, [f("app/../../x", "x")], paths=("/app",))


def test_paths_still_see_an_ancestor_replaced_by_a_file(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [d("app"), f("app/dist/index.js", "js"), f("usr/x", "x")],
        [wh("app"), f("app", "now a file")],
        paths=("/app/dist",),
    )
    assert "/app/dist/index.js" not in t and t["/app"].type == "file"


def test_paths_hard_link_to_a_file_outside_them_has_unknown_content(tmp_path: Path) -> None:
    t = tree(
        tmp_path,
        [
            f("usr/share/logo.png", "png"),
            hard("app/dist/logo.png", "usr/share/logo.png"),
            f("app/dist/index.js", "js"),
        ],
        paths=("/app/dist",),
    )
    link = t["/app/dist/logo.png"]
    assert link.type == "hardlink" and link.sha256 is None, "never taken for a match"
    with pytest.raises(HostileImage, match="does not exist"):
        tree(
            tmp_path / "dangling",
            [hard("app/dist/a.js", "app/dist/missing.js")],
            paths=("/app/dist",),
        )


def test_paths_do_not_let_hostile_names_elsewhere_pass(tmp_path: Path) -> None:
    with pytest.raises(HostileImage, match="escape"):
        tree(
            tmp_path,
            [f("app/dist/a.js", "a"), f("usr/../../etc/passwd", "x")],
            paths=("/app/dist",),
        )
