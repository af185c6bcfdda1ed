"""A real headless Chromium (Debian's `chromium`) driven by Playwright, for the web UI's tests.

The browser is the system's: Playwright's own download (`playwright install`) is never used. Every page
records its console errors, uncaught exceptions and Content-Security-Policy violations; a test ends by
asserting there were none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Set to a folder to keep screenshots of the main screens (docs/ui/ holds the committed ones).
SCREENSHOTS = os.environ.get("STRONGROOM_UI_SCREENSHOTS", "")


@contextmanager
def chromium(profile: Path) -> Iterator[BrowserContext]:
    """One headless Chromium with a fresh profile in `profile`."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test-tools")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def _expected(message: ConsoleMessage) -> bool:
    """Chromium logs every 4xx answer of fetch() as an error; for the API those are answers the UI handles
    (a 404 for an empty folder, a 400 for a wrong unseal key), not faults of the page."""
    url = message.location.get("url", "")
    return message.text.startswith("Failed to load resource: the server responded with a status of 4") and (
        "/v1/" in url
    )


@dataclass
class Watched:
    """A page and what went wrong on it."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.problems == []

    def screenshot(self, name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def watch(page: Page) -> Watched:
    """Record the page's console errors and warnings, CSP violations and uncaught exceptions."""
    watched = Watched(page)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and not _expected(message):
            watched.problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error}"))
    return watched
