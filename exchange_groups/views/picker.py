"""The one member picker: a searchable, paged list of the service's accounts and external
contacts with columns of boxes, whose ticks survive paging and searching with or without
JavaScript. Used by the create wizard's step 2 and the users page (MembersPicker) and by
the delegations page (DelegationsPicker); each shows it with the partial of its kind
(templates _picker_members.html, _picker_delegations.html, both on _picker.html).

A picker's state is a draft (views/drafts.py) that keeps only the differences from the
boxes as they are (`base`, today's state: a Today, or {column: set of keys}; empty for a
new group): "+column" the keys ticked since, "-column" those unticked. A group of 10,000
members stores nothing until a box changes. Each page posts its boxes with the keys it
showed ("shown"); those keys' differences are replaced, the others stay as they were.

A page asks today's state only about the keys it shows (and those of its differences),
and how many are ticked: a group of 10,000 members is neither read nor held whole
(Today.among); only the review of a change reads every tick (Today.all).
"""

import re
from dataclasses import dataclass
from typing import NamedTuple

from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..paging import countless_page, read_page
from ..queries import directory, directory_first_page, managers_without_mail

KEY = re.compile(r"(account|contact):[0-9]{1,18}")


def ids(keys, kind: str) -> list[int]:
    """["account:3", "contact:4"] -> [3] for kind "account"."""
    return sorted(int(k.split(":", 1)[1]) for k in keys if k.startswith(f"{kind}:"))


class Today:
    """Today's boxes of a picker, {column: set of keys}, held whole: a new group's (none),
    a group's delegations. A page asks it about a few keys (`among`) and how many are
    ticked (`count`, after `among`); a subclass may answer without holding every key."""

    def __init__(self, sets: dict[str, set]):
        self.sets = sets

    def all(self, column: str) -> set:
        return self.sets[column]

    def among(self, keys: set) -> dict[str, set]:
        return {column: ticked & keys for column, ticked in self.sets.items()}

    def count(self, column: str) -> int:
        return len(self.sets[column])


@dataclass
class Ticks:
    """The keys ticked in each column (among those asked about), and how many in all."""

    sets: dict[str, set]
    counts: dict[str, int]


class Blocked(NamedTuple):
    """Why a box is not offered: its accessible name (and title), and the note under it.
    Named fields: the template reads them as attributes (an index, `.0`, first fails as
    an attribute and costs the template engine a dir() of the tuple)."""

    label: str
    note: str


@dataclass
class Box:
    """One box of a row, as _picker.html writes every box: ticked or not, disabled while a
    task on it is pending (`busy`), or not offered (`blocked`: what its label and a note
    say). Each picker says what its boxes are (boxes()); the markup has one home."""

    column: str
    ticked: bool
    label: str  # the box's accessible name
    busy: bool = False
    blocked: Blocked | None = None


class Picker:
    template = ""  # the partial: what htmx swaps in (#picker), included by the pages
    note = ""  # shown above it
    columns: tuple[str, ...] = ()
    account_columns: tuple[str, ...] = ()  # boxes an external contact cannot have
    accounts_only = False  # no external contacts listed
    page_size = 20
    # Tens of thousands of accounts: by default no count, a page reads its own rows only.
    count = False

    def __init__(self, service, base=None, *, prefix="", form_id="ticks-form", **options):
        self.service = service
        if not isinstance(base, Today):
            base = Today({column: set((base or {}).get(column, ())) for column in self.columns})
        self.today = base
        self.prefix = prefix  # of the posted fields: the wizard's "members-"
        self.form_id = form_id
        for name, value in options.items():  # page_size, count
            setattr(self, name, value)

    @staticmethod
    def blank() -> dict:
        # Every domain: the selection count then matches the boxes shown.
        return {"q": "", "domain": "", "page": 1}

    def merge(self, state: dict, post) -> dict:
        """The state with the boxes of the page shown, then the search or the page asked."""
        field = self.prefix
        shown = {key for key in post.getlist(f"{field}shown") if KEY.fullmatch(key)}
        merged = dict(state)
        today = self.today.among(shown)  # only the shown keys' differences change
        for column in self.columns:
            ticked = set(post.getlist(f"{field}{column}")) & shown
            if column in self.account_columns:  # a forged contact key is dropped here
                ticked = {key for key in ticked if key.startswith("account:")}
            base = today[column]
            added = (set(state.get(f"+{column}", [])) - shown) | (ticked - base)
            removed = (set(state.get(f"-{column}", [])) - shown) | ((shown - ticked) & base)
            merged[f"+{column}"], merged[f"-{column}"] = sorted(added), sorted(removed)
        nav = post.get("nav", "")
        if nav == "search":
            merged.update(
                q=post.get(f"{field}q", "").strip(), domain=post.get(f"{field}domain", ""), page=1
            )
        elif nav.startswith("page:") and nav[5:].isdigit():
            merged["page"] = int(nav[5:])
        return merged

    def ticked(self, state: dict, among=None) -> Ticks:
        """The keys ticked in each column: today's, with the customer's differences applied;
        among the keys `among` only (with every key of the differences), or all of them
        (None: a review reads them all). The sets returned are read, never changed."""
        diffs = {
            column: (set(state.get(f"-{column}", [])), set(state.get(f"+{column}", [])))
            for column in self.columns
        }
        if among is None:
            today = {column: self.today.all(column) for column in self.columns}
        else:
            asked = set(among).union(*(r | a for r, a in diffs.values()))
            today = self.today.among(asked)
        sets, counts = {}, {}
        for column in self.columns:
            removed, added = diffs[column]
            base = today[column]
            # A difference that today's state has caught up with (a task applied since)
            # changes nothing, and is not counted.
            sets[column] = (base - removed) | added if removed or added else base
            total = len(base) if among is None else self.today.count(column)
            counts[column] = total - len(removed & base) + len(added - base)
        return Ticks(sets, counts)

    def asked(self, state: dict) -> set:
        """The keys a page asks about besides its rows' (what its totals need)."""
        return set()

    def context(self, state: dict, decorate=None) -> dict:
        """What the partial shows: the page asked, its rows with their boxes, the counts.
        `decorate(row)` adds what a page knows of a row (a pending task)."""
        number = state.get("page", 1)
        q, domain = state.get("q", ""), state.get("domain", "")
        if self.count:
            rows = directory(self.service, q, domain, self.accounts_only)
            page = Paginator(rows, self.page_size).get_page(number)
        elif (
            not q
            and not domain
            and str(number) == "1"
            and (
                (first := directory_first_page(self.service, self.accounts_only, self.page_size))
                is not None
            )
        ):
            page = read_page(first, 1, self.page_size)
        else:
            end = max(int(number), 1) * self.page_size + 1  # the page's rows, and one more
            rows = directory(self.service, q, domain, self.accounts_only, limit=end)
            page = countless_page(rows, number, self.page_size)
        page_keys = [f"{kind}:{pk}" for kind, pk, *_rest in page]
        ticks = self.ticked(state, set(page_keys) | self.asked(state))
        ticked = ticks.sets
        shown = []
        for key, (kind, pk, mail, name, *_order) in zip(page_keys, page, strict=True):
            # slug: the key as `slugify` writes it ("account:3" -> "account3"), for the ids
            # of the row and its boxes: computed once, not by a filter per use.
            row = {"key": key, "slug": f"{kind}{pk}", "kind": kind, "address": mail, "name": name}
            row.update({column: key in ticked[column] for column in self.columns})
            row = decorate(row) if decorate else row
            row["boxes"] = self.boxes(row)
            shown.append(row)
        return {
            "picker": self,
            "state": state,
            "page": page,
            "rows": shown,
            **self.totals(ticks),
        }

    def totals(self, ticks: Ticks) -> dict:
        """The counts of ticks, and what a page says of them."""
        return {"counts": ticks.counts}

    def boxes(self, row: dict) -> list[Box]:
        """The row's boxes, in the order of the page's columns."""
        raise NotImplementedError


class MembersPicker(Picker):
    """Contacts (accounts and external contacts) and administrators (accounts)."""

    template = "exchange_groups/_picker_members.html"
    note = gettext_lazy(
        "An administrator receives the group's mail only if it is also a contact of the group."
    )
    columns = ("member", "manager")
    account_columns = ("manager",)

    def wanted(self, state: dict) -> dict[str, list[int]]:
        ticked = self.ticked(state).sets
        return {
            "member_accounts": ids(ticked["member"], "account"),
            "member_contacts": ids(ticked["member"], "contact"),
            "manager_accounts": ids(ticked["manager"], "account"),
        }

    def asked(self, state: dict) -> set:
        """The administrators (a few), whether they are contacts: for the totals."""
        return self.today.all("manager") | set(state.get("+manager", []))

    def totals(self, ticks: Ticks) -> dict:
        """With the administrators who are not contacts (they receive none of the mail)."""
        others = ticks.sets["manager"] - ticks.sets["member"]
        missing = managers_without_mail(self.service, ids(others, "account"), ())
        return {**super().totals(ticks), "managers_without_mail": missing}

    def boxes(self, row: dict) -> list[Box]:
        address = {"address": row["address"]}
        manager = Box(
            "manager",
            row["manager"],
            _("%(address)s is an administrator") % address,
            busy=row.get("manager_pending", False),
        )
        if row["kind"] != "account":
            manager.blocked = Blocked(
                _("An external contact cannot be an administrator."),
                _("Not possible for an external contact"),
            )
        member = Box(
            "member",
            row["member"],
            _("%(address)s is a contact") % address,
            busy=row.get("member_pending", False),
        )
        return [manager, member]


class DelegationsPicker(Picker):
    """Send As and Send on Behalf, accounts only."""

    template = "exchange_groups/_picker_delegations.html"
    note = gettext_lazy(
        "“Send As” lets an account send mail as the group; “Send on Behalf” lets it send "
        "on the group's behalf. An account can hold only one of the two."
    )
    columns = ("send_as", "send_on_behalf")
    account_columns = columns
    accounts_only = True

    def wanted(self, state: dict) -> dict[str, list[int]]:
        ticked = self.ticked(state).sets
        return {column: ids(ticked[column], "account") for column in self.columns}

    def boxes(self, row: dict) -> list[Box]:
        address = {"address": row["address"]}
        busy = row.get("busy", False)
        exclusive = Blocked(
            _("Not possible with the other right"),
            _("Exclusive with the other right"),
        )
        labels = {
            "send_as": _("Send As right for %(address)s"),
            "send_on_behalf": _("Send on Behalf right for %(address)s"),
        }
        # An account holds one of the two rights: each box is blocked by the other.
        return [
            Box(
                column,
                row[column],
                labels[column] % address,
                busy=busy,
                blocked=exclusive if row[other] else None,
            )
            for column, other in (self.columns, self.columns[::-1])
        ]
