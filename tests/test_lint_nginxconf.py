"""The nginx reader (buildguard._lint.nginxconf): crossplane's parse in the right context,
includes inside the repository, templates, and which location answers a URI, checked
against a real nginx (every location answers with its own name)."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nginx import run_nginx

from buildguard._lint.errors import ParseFailure
from buildguard._lint.nginxconf import TEMPLATE_VALUE, read_config, template_values
from buildguard._lint.nginxlocations import Unknown, answering_location, spa_fallback


def write(root: Path, rel: str, text: str) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return rel


def test_a_conf_d_snippet_with_a_top_level_server_is_read_in_the_http_context(
    tmp_path: Path,
) -> None:
    rel = write(
        tmp_path,
        "nginx/conf.d/default.conf",
        "# buildguard-lint: ignore BG-NG003\nserver {\n  listen 80;\n"
        "  location / { try_files $uri /index.html; }\n}\n",
    )
    config = read_config(tmp_path, rel)
    assert config.context == ("http",)
    [server] = config.servers()
    assert server.line == 2
    location = answering_location(server, "/x")
    assert location is not None and location.line == 4
    assert spa_fallback(location) is not None


def test_a_snippet_of_locations_is_read_in_the_server_context(tmp_path: Path) -> None:
    rel = write(tmp_path, "locations.conf", "location /api/ { proxy_pass http://api:80; }\n")
    config = read_config(tmp_path, rel)
    assert config.context == ("http", "server")
    [server] = config.servers()
    location = answering_location(server, "/api/x")
    assert location is not None and spa_fallback(location) is None


def test_a_directive_in_the_wrong_context_is_a_parse_failure_at_its_line(tmp_path: Path) -> None:
    rel = write(tmp_path, "bad.conf", "events {}\nhttp {\n  location / { }\n}\n")
    with pytest.raises(ParseFailure) as caught:
        read_config(tmp_path, rel)
    assert caught.value.line == 3 and caught.value.path == "bad.conf"
    assert "not allowed here" in caught.value.message


def test_a_syntax_error_is_a_parse_failure_naming_the_relative_path(tmp_path: Path) -> None:
    rel = write(tmp_path, "conf/site.conf", "server {\n  listen 80;\n")
    with pytest.raises(ParseFailure) as caught:
        read_config(tmp_path, rel)
    assert caught.value.path == "conf/site.conf"
    assert str(tmp_path) not in caught.value.message


def test_includes_resolve_beside_the_file_then_by_the_tail_of_an_absolute_path(
    tmp_path: Path,
) -> None:
    write(tmp_path, "nginx/snippets/health.conf", "location = /healthz { return 200; }\n")
    write(tmp_path, "nginx/conf.d/api.conf", "location /api/ { proxy_pass http://a.b.c; }\n")
    rel = write(
        tmp_path,
        "nginx/nginx.conf",
        "events {}\nhttp {\n  include /etc/nginx/mime.types;\n  server {\n"
        "    include snippets/*.conf;\n    include /etc/nginx/conf.d/*.conf;\n"
        "    location / { try_files $uri /index.html; }\n  }\n}\n",
    )
    config = read_config(tmp_path, rel)
    [server] = config.servers()
    health = answering_location(server, "/healthz")
    api = answering_location(server, "/api/v1")
    assert health is not None and health.path == "nginx/snippets/health.conf"
    assert api is not None and api.path == "nginx/conf.d/api.conf"
    # mime.types is not in the repository: left out, not an error
    assert not [d for d, _ in config.walk() if d.name == "include"]


def test_an_include_outside_the_root_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("location /secret/ { return 200; }\n")
    root = tmp_path / "repo"
    rel = write(root, "site.conf", "server {\n  include ../outside.conf;\n}\n")
    [server] = read_config(root, rel).servers()
    assert answering_location(server, "/secret/x") is None


def test_template_values_stand_for_envsubst_not_nginx_variables() -> None:
    assert template_values("http://${API_HOST}:8080$request_uri") == (
        f"http://{TEMPLATE_VALUE}:8080$request_uri"
    )
    assert template_values("$uri") == "$uri"


def test_an_unreadable_regex_makes_the_answer_unknown(tmp_path: Path) -> None:
    rel = write(tmp_path, "s.conf", "server {\n  location ~ ^/(?<x>a)(*UTF8) { }\n}\n")
    [server] = read_config(tmp_path, rel).servers()
    with pytest.raises(Unknown):
        answering_location(server, "/a")


# -- differential: the location nginx picks ----------------------------------------------

LOCATIONS = """
location / { return 200 "L1"; }
location /api/ { return 200 "L2"; }
location /api/v5/ { return 200 "L3"; }
location = /api/v5/exact { return 200 "L4"; }
location ^~ /static/ { return 200 "L5"; }
location ~ \\.(js|css)$ { return 200 "L6"; }
location ~* ^/API/v[0-9]+/admin { return 200 "L7"; }
location /nest/ {
    location /nest/deep/ { return 200 "L8"; }
    location ~ \\.png$ { return 200 "L9"; }
    return 200 "L10";
}
location = / { return 200 "L11"; }
location /api { return 200 "L12"; }
location ~ /v5/ { return 200 "L13"; }
"""

SEGMENTS = ["api", "API", "v5", "v4", "exact", "static", "nest", "deep", "admin", "a.js"]
SEGMENTS += ["b.css", "c.png", "x", "", ".", ".."]


def _name_of(d: object) -> str | None:
    from buildguard._lint.nginxconf import Directive

    assert isinstance(d, Directive)
    returns = d.first("return")
    return returns.args[1] if returns else None


@pytest.fixture(scope="module")
def located(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = tmp_path_factory.mktemp("locations")
    rel = write(root, "site.conf", "server {\n" + LOCATIONS + "}\n")
    [server] = read_config(root, rel).servers()
    with run_nginx(LOCATIONS) as nginx:
        yield server, nginx.url


def _ask(url: str) -> str | None:
    """The location's name, None when nginx refuses the URI (``..`` above the root)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as e:
        assert e.code == 400
        return None


FIXED = ["/", "/api", "/api/", "/api/v5/exact", "/api/v5/exact/", "/static/a.js", "/x.js"]
FIXED += ["/API/v5/admin", "/api/v5/admin", "/nest/deep/c.png", "/nest/c.png", "/nest/x"]
FIXED += ["/other/v5/x", "/apix", "/api/v5/x.css", "/nest/v5/c.png", "/static/v5/a.js"]


def test_the_location_is_the_one_real_nginx_picks_for_fixed_uris(located: object) -> None:
    server, url = located  # type: ignore[misc]
    for uri in FIXED:
        ours = answering_location(server, uri)
        assert ours is not None
        assert _name_of(ours) == _ask(url + uri), uri


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5))
def test_the_location_is_the_one_real_nginx_picks(located: object, segments: list[str]) -> None:
    server, url = located  # type: ignore[misc]
    uri = "/" + "/".join(segments)
    theirs = _ask(url + uri)
    assume(theirs is not None)
    ours = answering_location(server, uri)
    assert ours is not None
    assert _name_of(ours) == theirs, uri


# -- never a crash ---------------------------------------------------------------------


@pytest.mark.fuzz
@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *["server", "location", "{", "}", ";", " ", "\n", "#c", '"', "'", "\\", "$"],
                *["${X}", "include", "*.conf", "/", "~", "=", "^~", "proxy_pass", "http://a:1"],
                *["if", "("],
            ]
        )
        | st.text(max_size=8),
        max_size=40,
    )
)
def test_the_reader_never_crashes_on_arbitrary_text(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str]
) -> None:
    root = tmp_path_factory.mktemp("fuzz", numbered=True)
    rel = write(root, "any.conf", "".join(pieces))
    try:
        config = read_config(root, rel)
    except ParseFailure as failure:
        assert failure.line >= 1
        return
    for server in config.servers():
        with contextlib.suppress(Unknown):
            answering_location(server, "/api/v5/x")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("server {\n  localtion / { }\n}\n", 2, 'is it "location"'),
        ("server {\n  location /api {\n    proxy_pass http://a:3000\n  }\n}\n", 3, "terminated"),
    ],
)
def test_what_nginx_refuses_is_a_parse_failure(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    rel = write(tmp_path, "site.conf", text)
    with pytest.raises(ParseFailure) as caught:
        read_config(tmp_path, rel)
    assert caught.value.line == line and words in caught.value.message


def test_third_party_directives_are_not_typos(tmp_path: Path) -> None:
    rel = write(
        tmp_path,
        "site.conf",
        "server {\n  more_set_headers 'X-A: b';\n  lua_code_cache on;\n  vhost_traffic_status on;\n"
        "  location / { content_by_lua_block { ngx.say('x') } }\n}\n",
    )
    assert read_config(tmp_path, rel).servers()
