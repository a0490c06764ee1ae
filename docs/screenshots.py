"""Regenerate the README's screenshots from a running product (bin/run):

.venv/bin/python docs/screenshots.py http://127.0.0.1:8000
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}  # fmt: skip


def log_in(page):
    page.goto("/login/")
    page.get_by_label("Nom d’utilisateur").fill("demo")
    page.get_by_label("Mot de passe").fill("demo-exchange-2026")
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_selector("#table")


def desktop(browser, base_url):
    page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 820})
    log_in(page)
    page.screenshot(path=HERE / "groups-list.png")
    page.get_by_role("link", name="Créer un groupe de contacts").click()
    page.get_by_label("Adresse e-mail").fill("communication")
    page.get_by_label("Nom du groupe").fill("Communication")
    page.get_by_role("button", name="Suivant").click()
    for row in range(3):
        page.locator(".pick[name$='-member']").nth(row).check()
        page.wait_for_function("!document.querySelector('.htmx-request')")
    page.locator(".pick[name$='-manager']").nth(3).check()
    page.wait_for_selector("#managers-without-mail")
    page.screenshot(path=HERE / "wizard-members.png")
    page.close()


def phone(browser, base_url):
    """The groups list and its "..." menu, and the wizard's step 2, on a phone."""
    context = browser.new_context(base_url=base_url, **PHONE)
    page = context.new_page()
    log_in(page)
    row = page.locator("#table tbody tr", has_text="direction@")
    row.get_by_role("button", name="Actions pour direction@demo-sarl.fr").click()
    page.wait_for_selector(".dropdown-menu.show")
    page.screenshot(path=HERE / "phone-groups-menu.png")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Créer un groupe de contacts").click()
    page.get_by_label("Adresse e-mail").fill("communication")
    page.get_by_role("button", name="Suivant").click()
    page.locator(".pick[name$='-member']").first.check()
    page.wait_for_function("!document.querySelector('.htmx-request')")
    page.screenshot(path=HERE / "phone-wizard-members.png")
    context.close()


def main(base_url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        desktop(browser, base_url)
        phone(browser, base_url)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
