"""Boxes ticked in a paged, searchable list, kept on the server between requests, so that
ticks survive paging and searching with or without JavaScript.

Only the differences from the boxes as they are (`base`: {column: set of keys}, today's
state) are kept: "+column" the keys ticked since, "-column" those unticked. A group of
10,000 members stores nothing until a box changes. Each page posts its boxes with the keys
it showed ("shown"); those keys' differences are replaced, the others stay as they were.
"""

import secrets


def merge_ticks(state: dict, post, columns, base: dict) -> dict:
    shown = set(post.getlist("shown"))
    merged = dict(state)
    for column in columns:
        ticked = set(post.getlist(column)) & shown
        added = (set(state.get(f"+{column}", [])) - shown) | (ticked - base[column])
        removed = (set(state.get(f"-{column}", [])) - shown) | ((shown - ticked) & base[column])
        merged[f"+{column}"], merged[f"-{column}"] = sorted(added), sorted(removed)
    return merged


def ticked(state: dict, base: dict, column: str) -> set:
    """The keys ticked in `column`: today's, with the customer's differences applied."""
    return (base[column] - set(state.get(f"-{column}", []))) | set(state.get(f"+{column}", []))


def ids(keys, kind: str) -> list[int]:
    """["account:3", "contact:4"] -> [3] for kind "account"."""
    return [int(k.split(":", 1)[1]) for k in keys if k.startswith(f"{kind}:")]


class SessionTicks:
    """One editing session per page load, under a token: two tabs never mix. The last few
    are kept, older ones dropped, so that abandoned pages do not fill the session."""

    KEEP = 3

    def __init__(self, request, scope: str):
        self.session = request.session
        self.prefix = f"ticks:{scope}:"

    def start(self, state: dict) -> tuple[str, dict]:
        token = secrets.token_urlsafe(8)
        order = [t for t in self.session.get(self.prefix + "order", []) if t != token]
        for old in order[: -(self.KEEP - 1)] if len(order) >= self.KEEP else []:
            self.session.pop(self.prefix + old, None)
        self.session[self.prefix + "order"] = [*order[-(self.KEEP - 1) :], token]
        self.save(token, state)
        return token, state

    def load(self, token: str) -> dict | None:
        return self.session.get(self.prefix + token) if token else None

    def save(self, token: str, state: dict) -> None:
        self.session[self.prefix + token] = state

    def end(self, token: str) -> None:
        self.session.pop(self.prefix + token, None)
