"""Accessibility checks in the browser: axe-core (installed by bin/test from
package-lock.json) injected into every page of a context, and the width of a page."""

from pathlib import Path

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA is the standard: axe's rules for it, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = ("serious", "critical")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCALES = {"fr": "fr-FR", "en": "en-GB"}


def new_context(browser, base_url, language="fr", viewport=DESKTOP, user=None):
    """A browser context in that language and size, logged in as `user`, with axe-core
    loaded into every page (an init script, so the pages' CSP does not apply to it)."""
    assert AXE.exists(), "axe-core is missing: bin/test installs it (npm ci)"
    context = browser.new_context(
        base_url=base_url,
        locale=LOCALES[language],
        viewport=viewport,
        is_mobile=viewport["width"] < 600,
        has_touch=viewport["width"] < 600,
    )
    context.set_default_timeout(15_000)
    context.add_init_script(path=AXE)
    # The panel follows the language chosen with its switch (a cookie), not the browser's.
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        cookies.append({"name": cookie.key, "value": cookie.value, "url": base_url})
    context.add_cookies(cookies)
    return context


def violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                                    resultTypes: ["violations"]});
            return result.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3),
                count: v.nodes.length}));
        }""",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}, {v['count']}×: {', '.join(v['nodes'])})"
        for v in found
        if v["impact"] in FAILING
    ]


def overflow(page, width: int) -> int:
    """How many pixels the page is wider than a screen `width` pixels wide (0 when it
    fits). Measured against the screen, not the window: a phone's browser zooms out to
    show a page too wide, so the window grows with it."""
    return page.evaluate(
        "(width) => Math.max(document.documentElement.scrollWidth,"
        " document.body.scrollWidth) - width",
        width,
    )


def settled(page):
    """Wait until the page has loaded (its stylesheets applied: an unstyled page's links
    are small and close, which axe rightly fails) and htmx has no request in flight (the
    page's last swap is done). A locator, not wait_for_function: the pages' CSP allows no
    eval, which that would need."""
    page.wait_for_load_state("load")
    expect(page.locator(".htmx-request")).to_have_count(0)
