"""The one store of a customer's drafts: what a page keeps on the server between requests
until it is confirmed (the ticks of the users and delegations pages, the create wizard's
steps, an import's preview).

A draft belongs to a kind ("users", "wizard", "import"...) and a scope (the group or
service it edits), under a token of its own: two tabs never mix, and a token posted to
another group's page finds nothing. One pruning rule for all: the KEEP drafts of a kind
used last are kept, older ones dropped, so that abandoned pages do not fill the session.
A dropped draft answers None, and the page says it expired.
"""

import secrets

from formtools.wizard.storage.base import BaseStorage


class Drafts:
    KEEP = 3

    def __init__(self, request, kind: str):
        self.session = request.session
        self.kind = kind
        self.order_key = f"drafts:{kind}"

    def _key(self, name: str) -> str:
        return f"draft:{self.kind}:{name}"

    def start(self, scope, state: dict) -> str:
        """A new draft; its token."""
        token = secrets.token_urlsafe(8)
        self.save(scope, token, state)
        return token

    def load(self, scope, token: str) -> dict | None:
        if not token:
            return None
        name = f"{scope}:{token}"
        state = self.session.get(self._key(name))
        if state is not None:
            self._used(name)  # also marks the session changed: the caller may change it in place
        return state

    def save(self, scope, token: str, state: dict) -> None:
        name = f"{scope}:{token}"
        self.session[self._key(name)] = state
        self._used(name)

    def _used(self, name: str) -> None:
        """`name` becomes the kind's most recent draft; the oldest beyond KEEP are dropped."""
        order = [n for n in self.session.get(self.order_key, []) if n != name] + [name]
        for old in order[: -self.KEEP]:
            self.session.pop(self._key(old), None)
        self.session[self.order_key] = order[-self.KEEP :]

    def end(self, scope, token: str) -> None:
        name = f"{scope}:{token}"
        self.session.pop(self._key(name), None)
        self.session[self.order_key] = [
            n for n in self.session.get(self.order_key, []) if n != name
        ]


class WizardDrafts(BaseStorage):
    """django-formtools storage in the draft store (kind "wizard", scoped by the service
    of the URL): a wizard is a draft like the others, pruned by the same rule."""

    def __init__(self, prefix, request=None, file_storage=None):
        super().__init__(prefix, request, file_storage)
        self.drafts = Drafts(request, "wizard")
        self.scope = (request.resolver_match.kwargs if request.resolver_match else {}).get(
            "service", ""
        )
        if self.drafts.load(self.scope, self.prefix) is None:
            self.init_data()

    def _get_data(self):
        data = self.drafts.load(self.scope, self.prefix)
        if data is None:  # dropped while in use (many wizards opened since): start over
            self.init_data()
            data = self.drafts.load(self.scope, self.prefix)
        return data

    def _set_data(self, value):
        self.drafts.save(self.scope, self.prefix, value)

    data = property(_get_data, _set_data)

    def reset(self):
        """Done (or started over): the draft goes."""
        super().reset()
        self.drafts.end(self.scope, self.prefix)
