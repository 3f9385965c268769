"""End-to-end fixtures: Debian's headless Chromium driven by Playwright against pytest-django's live server.

Reusable pieces: `browser` (one per e2e package run), `page` (a fresh context per test), `e2e_user` (a user with
an organization and a known password), `logged_in_page`, `log_in(page, email, password)`, and `screenshot(page,
name)`, which saves a full-page PNG under tests/e2e/screenshots/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.factories import OrganizationFactory, UserFactory

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "e2e-Strong-pass-42"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def _async_unsafe_allowed():
    """Playwright's sync API keeps an event loop running in this thread, so Django would refuse ORM calls.

    Allowed only while the e2e package runs (and restored after), so the rest of the suite keeps Django's check.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package", autouse=True)
def _no_raw_media_from_the_test_server():
    """Django's live test server answers MEDIA_URL straight from MEDIA_ROOT (its _MediaFilesHandler), which no
    production server does: switched off so the browser reaches media only through the app's signed-link view."""
    from django.test.testcases import _MediaFilesHandler

    original = _MediaFilesHandler._should_handle
    _MediaFilesHandler._should_handle = lambda self, path: False
    yield
    _MediaFilesHandler._should_handle = original


@pytest.fixture(scope="package")
def browser(_async_unsafe_allowed):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright's Python client is not installed: pip install -r requirements-dev.txt")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does), or set E2E_CHROMIUM")
    with sync_playwright() as playwright:
        # Debian's Chromium, never a downloaded browser.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Runs before any page script (Playwright injects it outside the page's CSP) and reports each violation on the
# console, where the listener below collects it with Chromium's own "Refused to ..." messages.
REPORT_CSP_VIOLATIONS_JS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  console.error(`CSP violation: ${event.violatedDirective} blocked ${blocked} on ${location.href}`);
});
"""


def is_csp_violation(text: str) -> bool:
    return "Refused to" in text or "CSP violation" in text or "Content Security Policy" in text


@pytest.fixture
def csp_violations() -> list[str]:
    """Every Content-Security-Policy violation any page of the test hit; `new_page` fails the test on one."""
    return []


@pytest.fixture
def new_page(browser, live_server, csp_violations):
    """A factory of pages, each in its own browser context (its own cookies): two people in one test.

    Every page fails its test on any Content-Security-Policy violation (console "Refused to ..." or a
    `securitypolicyviolation` event): an inline script or style the policy blocks is a broken page.
    """
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(base_url=live_server.url, viewport=viewport or DESKTOP)
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_CSP_VIOLATIONS_JS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: is_csp_violation(message.text) and csp_violations.append(message.text))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot():
    """`screenshot(page, "name")` saves tests/e2e/screenshots/name.png (full page) and returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def e2e_user():
    """A user who owns an organization; log in with `e2e_user.email` and `PASSWORD`."""
    user = UserFactory(email="owner@example.com")
    user.set_password(PASSWORD)
    user.save()
    user.organization = OrganizationFactory(name="Acme Studio", owner=user)
    return user


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/app/")


@pytest.fixture
def logged_in_page(page, e2e_user):
    log_in(page, e2e_user.email)
    return page


UNLABELLED_FIELDS_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


def assert_fields_labelled(page) -> None:
    """Every form control on the page has a label a screen reader can announce."""
    unlabelled = page.evaluate(UNLABELLED_FIELDS_JS)
    assert not unlabelled, f"{page.url} has form fields without a label: {unlabelled}"
