"""The public pages in a real browser: tests/browser/public.mjs drives
Debian's chromium (playwright-core, pinned in package.json) at a phone's
viewport through the reader's path (the column, a past edition, edition 13
with its photos, a vote kept across a reload, the page without scripts and
its Open Graph tags), runs axe-core on the pages, and loads edition 13 on a
throttled phone. Its screenshots go to <build>/test-output/browser/."""
from conftest import run_browser_script


def test_public_pages_in_a_phone_browser(stack):
    run_browser_script(stack, "public.mjs", "browser", timeout=120)
