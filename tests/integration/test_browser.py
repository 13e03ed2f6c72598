"""The public pages in a real browser: tests/browser/public.mjs drives
Debian's chromium (playwright-core, pinned in package.json) at a phone's
viewport through the reader's path (the column, a past edition, edition 13
with its photos, a vote kept across a reload, the page without scripts and
its Open Graph tags), runs axe-core on the pages, and loads edition 13 on a
throttled phone. Its screenshots go to <build>/test-output/browser/."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT
import stack as stackmod

SCRIPT = os.path.join(ROOT, "tests", "browser", "public.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def test_public_pages_in_a_phone_browser(stack):
    missing = [what for what, ok in (
        ("node", shutil.which("node")),
        (CHROMIUM + " (scripts/install-deps)", os.access(CHROMIUM, os.X_OK)),
        ("node_modules/playwright-core (npm ci)",
         os.path.isdir(os.path.join(ROOT, "node_modules", "playwright-core"))),
        ("node_modules/axe-core (npm ci)",
         os.path.isdir(os.path.join(ROOT, "node_modules", "axe-core"))),
    ) if not ok]
    # make test installs all of these; a missing one is a broken setup, not a skip
    assert not missing, "the browser test needs: " + ", ".join(missing)
    out = os.path.join(stackmod.build_dir(), "test-output", "browser")
    shutil.rmtree(out, ignore_errors=True)
    try:
        run = subprocess.run(["node", SCRIPT, stack.url, out], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the browser test took over 120 s; its output so far:\n"
                    f"{(e.stdout or b'').decode(errors='replace')}\n"
                    f"{(e.stderr or b'').decode(errors='replace')}")
    print(run.stdout)
    if run.returncode != 0:
        pytest.fail(f"node {os.path.relpath(SCRIPT, ROOT)} exited {run.returncode}:\n"
                    f"{run.stdout}\n{run.stderr}", pytrace=False)
