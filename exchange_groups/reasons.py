"""A task's error reason, stored as message ids and parameters and translated when shown,
so each reader sees it in their own language (the workers write it without knowing who
will read it).

A reason is a list of parts, each one sentence: {"id": msgid, "params": {...}} or, for a
count, {"id": singular, "plural": plural, "n": count, "params": {...}}. A sentence the
catalog does not know (a platform's own words) is shown as it was written.
"""

from django.utils.translation import gettext, ngettext


def part(message, plural=None, n=None, **params) -> dict:
    """One sentence. `message` is the message id, as gettext_noop or the backend wrote it."""
    found = {"id": str(message)}
    if plural is not None:
        found.update(plural=str(plural), n=n)
    if params:
        found["params"] = params
    return found


def render(parts) -> str:
    """The reason in the active language."""
    sentences = []
    for one in parts or []:
        if "plural" in one:
            text = ngettext(one["id"], one["plural"], one["n"])
        else:
            text = gettext(one["id"])
        params = {
            key: render([value]) if isinstance(value, dict) else value
            for key, value in (one.get("params") or {}).items()
        }
        sentences.append(text % params if params else text)
    return " ".join(sentences)
