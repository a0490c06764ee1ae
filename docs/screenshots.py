"""Regenerate the README's screenshots from a running product (bin/run):

.venv/bin/python docs/screenshots.py http://127.0.0.1:8000
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def main(base_url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 820})
        page.goto("/login/")
        page.get_by_label("Nom d’utilisateur").fill("demo")
        page.get_by_label("Mot de passe").fill("demo-exchange-2026")
        page.get_by_role("button", name="Connexion").click()
        page.wait_for_selector("#table")
        page.screenshot(path=HERE / "groups-list.png")
        page.get_by_role("link", name="Créer un groupe de contacts").click()
        page.get_by_label("Adresse e-mail").fill("communication")
        page.get_by_label("Nom du groupe").fill("Communication")
        page.get_by_role("button", name="Suivant").click()
        for row in range(3):
            page.locator(".pick[name='members-member']").nth(row).check()
            page.wait_for_timeout(300)
        page.locator(".pick[name='members-manager']").first.check()
        page.wait_for_timeout(500)
        page.screenshot(path=HERE / "wizard-members.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
