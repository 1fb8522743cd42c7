"""URL literals (buildguard._lint.jsurls) and BG-URL001/BG-URL002 through ``buildguard.lint``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lintrepo import lint_repo, rule_ids

from buildguard._lint.jsurls import env_values, url_literals
from buildguard._lint.urlshape import api_probe, loopback_host, path_of, repeated_segments

STORE = """\
const API_BASE_URL = import.meta.env.VITE_API_BASE_URL ?? "/api";
export async function load(id: string): Promise<Response> {
  return fetch(`${API_BASE_URL}/v5/sessions/${id}`);
}
"""


def values(path: str, text: str, env: dict[str, str] | None = None) -> list[str]:
    return [lit.text("…") for lit in url_literals(path, text, env)]


def test_a_template_joins_the_env_value_of_env_production() -> None:
    assert "/api/v5/v5/sessions/…" in values(
        "src/store.ts", STORE, {"VITE_API_BASE_URL": "/api/v5"}
    )
    # without an env file's value, the fallback is what the build gets
    assert "/api/v5/sessions/…" in values("src/store.ts", STORE)


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("src/a.js", 'const B = "/api/v1";\nfetch(B + "/api/v1/users");', "/api/v1/api/v1/users"),
        ("src/a.jsx", "const B = `/api`;\nconst el = <a href={`${B}/x`} />;", "/api/x"),
        (
            "src/a.tsx",
            'const B = "/api" as const;\nexport const C = () => <i>{`${B}/y`}</i>;',
            "/api/y",
        ),
        ("src/a.mjs", "const U = process.env.REACT_APP_API || '/r';\nfetch(`${U}/z`)", "/r/z"),
    ],
)
def test_dialects_and_joins(path: str, text: str, expected: str) -> None:
    assert expected in values(path, text)


def test_a_name_bound_twice_is_not_resolved() -> None:
    # a minifier reuses short names: `e` the const and `e` the parameter are different values
    text = 'const e="/api/v5";function f(e){return fetch(`${e}/v5/x`)}'
    assert values("dist/index.js", text) == ["/api/v5", "…/v5/x"]


def test_env_files_strongest_first() -> None:
    files = {".env": "VITE_A=/one\nVITE_B=/b\n", ".env.production": "VITE_A='/two' \n# c\n"}
    assert env_values(files) == {"VITE_A": "/two", "VITE_B": "/b"}


@pytest.mark.parametrize(
    ("path", "run"),
    [
        ("/api/v5/v5/sessions", ("v5",)),
        ("/api/v1/api/v1", ("api", "v1")),
        ("/api/v5/sessions", None),
        ("/users/1/1", None),
        ("/a/:id/:id", None),
        ("/files//x", None),
        ("https://example.com/v2/v2/x", ("v2",)),
        ("\x00/api/v1/api/v\x00", ("api", "v1")),  # the version unknown: written twice anyway
        ("/api/\x00/api/\x00", None),
        ("/users/\x00/users/\x00", None),
        ("/api/v1/api/v2", None),
    ],
)
def test_repeated_segments(path: str, run: tuple[str, ...] | None) -> None:
    assert repeated_segments(path_of(path)) == run


def test_api_probe_and_loopback() -> None:
    [a, b, c] = url_literals(
        "dist/x.js",
        'a("/api/v5/x?q=1");b(`http://localhost:${p}/api`);c("https://api.example.com/api/v5")',
    )
    assert api_probe(a) == "/api/v5/x"
    assert loopback_host(b) == "localhost" and api_probe(b) is None
    assert api_probe(c) is None and loopback_host(c) is None


# -- the rules ---------------------------------------------------------------------------


def test_url001_the_incident_store(tmp_path: Path) -> None:
    files = {"web/src/store.ts": STORE, "web/.env.production": "VITE_API_BASE_URL=/api/v5\n"}
    findings = lint_repo(tmp_path, files)
    [f] = [f for f in findings if f.rule == "BG-URL001"]
    assert (f.path, f.line, f.column, f.severity) == ("web/src/store.ts", 3, 16, "error")
    assert "v5/v5" in f.message


@pytest.mark.parametrize(
    "files",
    [
        {"src/store.ts": STORE},  # the fallback "/api" joined to "/v5/…": fine
        {"src/store.ts": STORE, ".env.production": "VITE_API_BASE_URL=/api\n"},
        {"src/a.ts": 'const BASE = "";\nfetch(`${BASE}/api/v5/x`);\n'},  # a relative base
        {"src/a.ts": "export const get = (base: string) => fetch(`${base}/v5/x`);\n"},
    ],
)
def test_url001_silent(tmp_path: Path, files: dict[str, str]) -> None:
    assert rule_ids(lint_repo(tmp_path, files), "BG-URL") == []


def test_url002_loopback_in_the_bundle_only(tmp_path: Path) -> None:
    bundle = 'const a="http://localhost:8080/api";const b="https://api.example.com";'
    source = 'const API = import.meta.env.VITE_API || "http://localhost:8080/api";\n'
    findings = lint_repo(
        tmp_path, {"dist/assets/index-1.js": bundle, "src/api.ts": source, "package.json": "{}"}
    )
    assert [(f.rule, f.path, f.severity) for f in findings if f.rule.startswith("BG-URL")] == [
        ("BG-URL002", "dist/assets/index-1.js", "warning")
    ]


@pytest.mark.parametrize("url", ["http://127.0.0.1:3000/", "ws://0.0.0.0:5173", "http://[::1]/"])
def test_url002_every_loopback_spelling(tmp_path: Path, url: str) -> None:
    files = {"dist/index.js": f'fetch("{url}")', "package.json": "{}"}
    assert rule_ids(lint_repo(tmp_path, files), "BG-URL") == ["BG-URL002"]


# -- never a crash ---------------------------------------------------------------------

_PIECES = [
    *["const ", "let ", "x", "=", '"', "'", "`", "${", "}", "/api", "/v5", "+", "||", "??"],
    *["import.meta.env.VITE_A", "process.env.REACT_APP_B", "(", ")", ";", "\n", "<a>", "as"],
    *["function f(x){", "=>", "http://localhost", "\\", "/*", "*/", "//"],
]


@pytest.mark.fuzz
@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=40),
    st.sampled_from(["a.js", "a.ts", "a.tsx", "a.jsx", "a.mjs"]),
)
def test_the_reader_never_crashes_on_arbitrary_text(pieces: list[str], name: str) -> None:
    for literal in url_literals(f"src/{name}", "".join(pieces), {"VITE_A": "/api"}):
        assert literal.line >= 1 and literal.column >= 1
        repeated_segments(path_of(literal.text("\x00")))
        api_probe(literal)
        loopback_host(literal)
