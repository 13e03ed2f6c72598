"""The staff console (/console/): tests/browser/console.mjs drives Debian's
chromium (playwright-core, pinned in package.json) through the whole story of
a case (draft, submit, reject with a reason, fix, resubmit, the changes
marked, approve into a new edition, open voting, the public page, a vote, the
live count, close, results), 燕罗街道 seeing none of 沙井街道's drafts, a
stale edit in two tabs, a session that expires mid-sentence, hostile case
text in every view, the first screen's bytes, axe-core on the sign-in
page, the editor and the review queue, and after publication a correction
(the public page shows 更正), the results with their CSV and JSON downloads
and the tally's digest, the standings, and an editor seeing none of these
(axe on those screens too). Its screenshots go to
<build>/test-output/console/. Here too: nginx serves the console's files
with the security headers."""
import os
import re

import requests

from conftest import ROOT, run_browser_script

CONSOLE = os.path.join(ROOT, "nginx", "www", "console")


def headers_of(conf):
    with open(os.path.join(ROOT, "nginx", conf)) as f:
        return {name: quoted or bare for name, quoted, bare in
                re.findall(r'^add_header (\S+) (?:"(.*)"|(\S+)) always;', f.read(), re.M)}


def test_console_headers_are_the_sites_with_a_csp_only_tighter_or_for_blob_images(stack):
    site, console = headers_of("security_headers.conf"), headers_of("console_headers.conf")
    assert set(site) == set(console)
    for name in site:
        if name != "Content-Security-Policy":
            assert console[name] == site[name], name
    base = set(site["Content-Security-Policy"].split("; "))
    extra = set(console["Content-Security-Policy"].split("; ")) - base
    assert extra == {"img-src 'self' blob:", "require-trusted-types-for 'script'", "trusted-types 'none'"}
    assert "unsafe" not in console["Content-Security-Policy"]

    r = requests.get(stack.url + "/console/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == console["Content-Security-Policy"]
    for name in site:
        if name != "Content-Security-Policy" and not site[name].startswith("$"):
            assert r.headers[name] == site[name], name
    assert r.headers["Cache-Control"] == "no-cache"
    # scripts and styles are kept a minute, with the same headers
    for path in ("/console/app.js", "/console/views/editor.js", "/console/console.css"):
        r = requests.get(stack.url + path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "public, max-age=60"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Content-Encoding"] == "gzip"
    assert requests.get(stack.url + "/console/app.js").headers["Content-Type"].startswith(
        "application/javascript")
    r = requests.get(stack.url + "/console", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith("/console/")
    r = requests.get(stack.url + "/console/nothing-here.js")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"


def test_console_scripts_never_write_markup_and_keep_no_token():
    """The console renders data as text only: no innerHTML/outerHTML/
    insertAdjacentHTML/document.write anywhere in its scripts, no inline
    script in its page, and the token never reaches storage or a URL."""
    sources = {}
    for dirpath, _, files in os.walk(CONSOLE):
        for name in files:
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                sources[os.path.relpath(os.path.join(dirpath, name), CONSOLE)] = f.read()
    assert "index.html" in sources and "app.js" in sources
    for name, text in sources.items():
        if name.endswith(".js"):
            assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|"
                                 r"new Function", text), name
            assert not re.search(r"(localStorage|sessionStorage)[^\n]*token", text, re.I), name
            assert not re.search(r"[?&](access_)?token=", text), name
    assert not re.search(r"<script(?![^>]*\bsrc=)", sources["index.html"])
    assert not re.search(r"\bstyle=|\bon[a-z]+=", sources["index.html"])


def test_console_in_a_browser(stack):
    run_browser_script(stack, "console.mjs", "console", timeout=240)
