"""The one store of a customer's drafts: what a page keeps on the server between requests
until it is confirmed (the ticks of the users and delegations pages, the create wizard's
steps, an import's preview).

A draft belongs to a kind ("users", "wizard", "import"...) and a scope (the group or
service it edits), under a token of its own: two tabs never mix, and a token posted to
another group's page finds nothing. One pruning rule for all: the KEEP drafts of a kind
used last are kept, older ones dropped, so that abandoned pages do not fill the session.
A dropped draft answers None, and the page says it expired.

A page that starts from a blank draft (the users and delegations pages) writes nothing
when it is only viewed: its token is `open`ed (its scope and the time in it, nothing
stored) and its first post starts the draft. Such a token not found is either a page
never posted (its draft is blank) or a dropped or ended draft (expired): the session
keeps when the newest page whose draft was dropped was opened (a page opened after it
was never dropped), and the last KEEP ended drafts' names.
"""

import secrets
import time

from formtools.wizard.storage.base import BaseStorage


class Drafts:
    KEEP = 3

    def __init__(self, request, kind: str):
        self.session = request.session
        self.kind = kind
        self.order_key = f"drafts:{kind}"

    def _key(self, name: str) -> str:
        return f"draft:{self.kind}:{name}"

    def open(self, scope) -> str:
        """A token for a page whose draft starts blank, without writing the session."""
        return f"{scope}.{time.time_ns()}.{secrets.token_urlsafe(6)}"

    @staticmethod
    def _opened(name: str) -> int | None:
        """When the page of an `open`ed token was opened (name: "scope:token")."""
        parts = name.partition(":")[2].split(".")
        return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None

    def _forget(self, name: str) -> None:
        """A dropped draft: every page opened up to its own may have been dropped."""
        opened = self._opened(name)
        if opened is not None:
            key = f"drafts:{self.kind}:dropped"
            self.session[key] = max(self.session.get(key, 0), opened)

    def start(self, scope, state: dict) -> str:
        """A new draft; its token."""
        token = secrets.token_urlsafe(8)
        self.save(scope, token, state)
        return token

    def load(self, scope, token: str, *, blank: dict | None = None) -> dict | None:
        """The draft; for an `open`ed token whose page was never posted, `blank`."""
        if not token:
            return None
        name = f"{scope}:{token}"
        state = self.session.get(self._key(name))
        if state is not None:
            self._used(name)  # also marks the session changed: the caller may change it in place
        elif blank is not None and self._never_posted(scope, name):
            state = dict(blank)
        return state

    def _never_posted(self, scope, name: str) -> bool:
        opened = self._opened(name)
        return (
            opened is not None
            and name.partition(".")[0] == f"{scope}:{scope}"
            and opened > self.session.get(f"drafts:{self.kind}:dropped", 0)
            and name not in self.session.get(f"drafts:{self.kind}:ended", [])
        )

    def save(self, scope, token: str, state: dict) -> None:
        name = f"{scope}:{token}"
        self.session[self._key(name)] = state
        self._used(name)

    def _used(self, name: str) -> None:
        """`name` becomes the kind's most recent draft; the oldest beyond KEEP are dropped."""
        order = [n for n in self.session.get(self.order_key, []) if n != name] + [name]
        for old in order[: -self.KEEP]:
            self.session.pop(self._key(old), None)
            self._forget(old)
        self.session[self.order_key] = order[-self.KEEP :]

    def end(self, scope, token: str) -> None:
        name = f"{scope}:{token}"
        self.session.pop(self._key(name), None)
        self.session[self.order_key] = [
            n for n in self.session.get(self.order_key, []) if n != name
        ]
        if self._opened(name) is not None:  # its page posted again has expired
            ended = [*self.session.get(f"drafts:{self.kind}:ended", []), name]
            for old in ended[: -self.KEEP]:
                self._forget(old)
            self.session[f"drafts:{self.kind}:ended"] = ended[-self.KEEP :]


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
