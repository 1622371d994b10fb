"""The Python side of the playground: ``playground_app()`` mounted in any Starlette
app, the page served by ``chatconduit serve`` (HTML for browsers, JSON for API
clients), the committed bundle, ``--open``, and the CORS proxy (typed errors for bad
targets, streaming, and secrets kept out of the server's output).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from chatconduit.cli._args import ServeCommand, parse_command
from chatconduit.demo import create_app
from chatconduit.playground import render_index
from chatconduit.server import playground_app
from servers import serve
from test_playground_support import ROOT, poll, wait_up

pytestmark = pytest.mark.timeout(120)
STATIC = ROOT / "src" / "chatconduit" / "playground" / "static"
SECRET = "sk-playground-secret-0042"


def test_the_bundle_is_committed_with_the_pinned_client() -> None:
    bundle = (STATIC / "playground.js").read_text(encoding="utf-8")
    assert len(bundle) > 50_000 and "fetchServerSentEvents" not in bundle  # minified
    package = json.loads((ROOT / "playground" / "package.json").read_text())
    assert package["dependencies"]["@tanstack/ai-client"] == "0.33.2"
    for version in [*package["dependencies"].values(), *package["devDependencies"].values()]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{version} is not an exact pin"
    lock = json.loads((ROOT / "playground" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@tanstack/ai-client"]["version"] == "0.33.2"
    html = (STATIC / "index.html").read_text()
    assert "http://" not in html and "https://" not in html  # no CDN


def test_playground_app_mounts_anywhere_with_its_config() -> None:
    app = Starlette(routes=[Mount("/tools/pg", playground_app(endpoint="/chat", framing="ndjson"))])
    with serve(app) as srv:
        page = httpx.get(f"{srv.url}/tools/pg/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<base href="/tools/pg/">' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        config = re.search(r'id="playground-config"[^>]*>(.*?)</script>', page.text)
        assert config and json.loads(config.group(1)) == {
            "endpoint": "/chat",
            "framing": "ndjson",
            "proxy": None,
        }
        script = httpx.get(f"{srv.url}/tools/pg/static/playground.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert httpx.post(f"{srv.url}/tools/pg/proxy").status_code in (404, 405)


def test_the_config_cannot_break_out_of_the_page() -> None:
    hostile = "/chat</script><script>alert(1)</script>"
    html = render_index('/a"b/', endpoint=hostile, framing="sse", proxy=None)
    assert "<script>alert(1)" not in html and '<base href="/a&quot;b/">' in html
    config = re.search(r'id="playground-config"[^>]*>(.*?)</script>', html, re.DOTALL)
    assert config and json.loads(config.group(1))["endpoint"] == hostile
    with pytest.raises(ValueError, match="must end with '/'"):
        render_index("/no-slash", endpoint="/chat", framing="sse", proxy=None)


def test_bad_options_are_typed_errors() -> None:
    with pytest.raises(ValueError, match="framing must be 'sse' or 'ndjson'"):
        playground_app(framing="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="endpoint"):
        playground_app(endpoint="")


def test_the_demo_answers_browsers_with_the_page_and_clients_with_json() -> None:
    with serve(create_app(delay=0)) as srv:
        html = httpx.get(f"{srv.url}/", headers={"Accept": "text/html,*/*"})
        assert html.headers["content-type"].startswith("text/html")
        assert '<base href="/playground/">' in html.text
        assert httpx.get(f"{srv.url}/playground/static/playground.css").status_code == 200
        info = httpx.get(f"{srv.url}/").json()
        assert info["name"] == "chatconduit demo" and info["playground"] == "/playground/"


def test_serve_flags_parse() -> None:
    command = parse_command(["serve", "--open", "--proxy"], {})
    assert command == ServeCommand(open_browser=True, proxy=True)
    assert parse_command(["serve"], {}) == ServeCommand()


def test_serve_open_starts_the_browser_on_the_page(tmp_path: Path) -> None:
    # $BROWSER is what Python's webbrowser runs: here a script that records the URL.
    record = tmp_path / "opened.txt"
    opener = tmp_path / "opener.py"
    opener.write_text(f"import sys; open({str(record)!r}, 'w').write(sys.argv[1])\n")
    env = {"PATH": "/usr/bin:/bin", "BROWSER": f"{sys.executable} {opener} %s", "HOME": "/tmp"}
    process = subprocess.Popen(
        [sys.executable, "-m", "chatconduit", "serve", "--port", "0", "--open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline() + process.stdout.readline()
        base = re.search(r"(http://\S+?)/api/chat/sse", first)
        assert base, first
        wait_up(base.group(1))
        poll(lambda: record.exists() and record.read_text() != "")
        assert record.read_text() == f"{base.group(1)}/"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_proxy_streams_and_keeps_secrets_out_of_the_log() -> None:
    backend = create_app(delay=0, api_key=SECRET)
    with serve(backend) as upstream:
        target = f"{upstream.url}/api/chat/sse?api_key={SECRET}"
        body = {
            "threadId": "t",
            "runId": "r",
            "messages": [{"id": "u", "role": "user", "content": "hello"}],
            "tools": [],
            "context": [],
            "state": {},
            "forwardedProps": {},
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "chatconduit", "serve", "--port", "0", "--proxy"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(2)]
            while "Press Ctrl-C" not in lines[-1] and lines[-1] and len(lines) < 30:
                lines.append(process.stdout.readline())  # the banner, whatever its length
            banner = "".join(lines)
            base = re.search(r"(http://\S+?)/api/chat/sse", banner)
            assert base and "/playground/proxy" in banner, banner
            proxy = f"{base.group(1)}/playground/proxy"
            wait_up(base.group(1))
            # Another web page cannot use the proxy: its preflight is not allowed.
            preflight = httpx.options(
                proxy,
                headers={
                    "Origin": "https://elsewhere.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "x-chatconduit-target",
                },
            )
            assert "access-control-allow-origin" not in preflight.headers
            assert preflight.status_code >= 400
            headers = {"x-chatconduit-target": target, "Cookie": "session=own-origin"}
            denied = httpx.post(proxy, json=body, headers=headers)
            assert denied.status_code == 401  # the backend's answer, passed through
            headers["Authorization"] = f"Bearer {SECRET}"
            answer = httpx.post(proxy, json=body, headers=headers, timeout=30)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert answer.text.count('"type":"TEXT_MESSAGE_CONTENT"') > 5
            assert answer.text.rstrip().endswith("}") and '"type":"RUN_FINISHED"' in answer.text
            bad = httpx.post(proxy, json=body, headers={"x-chatconduit-target": "file:///etc"})
            assert bad.status_code == 400 and "http(s) URL" in bad.text
            missing = httpx.post(proxy, json=body)
            assert missing.status_code == 400 and "x-chatconduit-target" in missing.text
            gone = httpx.post(
                proxy, json=body, headers={"x-chatconduit-target": "http://127.0.0.1:9/x"}
            )
            assert gone.status_code == 502 and "could not be reached" in gone.text
            odd = httpx.post(
                proxy, json=body, headers={"x-chatconduit-target": f"http://[::1/{SECRET}"}
            )
            assert odd.status_code in (400, 502) and SECRET not in odd.text
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=15)
        assert "POST /playground/proxy" in output  # the access log ran
        assert SECRET not in output
