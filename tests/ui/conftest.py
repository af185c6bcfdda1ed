"""The browser fixtures every UI test module shares: one headless Chromium per module, a watched tab per
test (console errors, uncaught exceptions and CSP violations fail the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext

from tests.ui.browser import Watched, chromium, watch


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("chromium")) as context:
        yield context


@pytest.fixture
def tab(browser: BrowserContext) -> Iterator[Watched]:
    page = browser.new_page()
    page.set_default_timeout(10_000)
    watched = watch(page)
    try:
        yield watched
    finally:
        page.close()
