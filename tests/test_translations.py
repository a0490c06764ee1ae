"""French is the reference wording: every string is translated, and the compiled catalog
that ships in the repository (so that no gettext tool is needed) matches its source."""

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.parametrize("language", ["fr"])
def test_every_string_is_translated_and_compiled(language):
    folder = LOCALE / language / "LC_MESSAGES"
    with open(folder / "django.po", "rb") as f:
        source = read_po(f)
    with open(folder / "django.mo", "rb") as f:
        compiled = read_mo(f)
    untranslated = [m.id for m in source if m.id and not all(_strings(m.string))]
    fuzzy = [m.id for m in source if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated[:5]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:5]}"
    expected = {_strings(m.id): _strings(m.string) for m in source if m.id}
    shipped = {_strings(m.id): _strings(m.string) for m in compiled if m.id}
    assert shipped == expected, "run: python manage.py compilemessages (django.mo is stale)"


def test_pages_are_french_by_default_and_switch_language(client):
    # Whatever the browser asks for, French until the user picks another language.
    assert "Connexion" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in" in client.get("/login/").content.decode()


def _strings(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
