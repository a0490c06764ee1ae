"""Paging that costs the same on every page, whatever the number of rows.

- `narrow_page`: the count and the OFFSET run on the ids alone, ordered by an indexed key,
  so they read an index and nothing else; what the page shows (counts, statuses, joins)
  is then computed for its rows only.
- a page in the second half of the list is read from the end (the order reversed), so the
  last page costs what the first does instead of an OFFSET over every row before it;
- `countless_page`: for lists where even counting is what costs (tens of thousands of
  accounts): no total, one row more than the page is read to know whether a next page
  exists. Its Next and Previous links carry a cursor (keyset paging): the next page is
  "the rows after this one's last", read from the index wherever it is in the list, where
  an OFFSET would read every row before it. A page number alone (a bookmark, a number
  typed in the address) is served by OFFSET near the start; a deep one (past DEEP rows)
  is first counted, and read from the nearer end;
- a page asked by its number far from both ends is found by walking the list's order
  values alone (`walked`: one index, without the list's joins, which PostgreSQL sorted
  whole for an OFFSET): the page is then the rows after the one before it, as by a cursor.
"""

import functools
import operator

from django.core import signing
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Model, Q
from django.utils.functional import cached_property

from .prepared import Ids, Prepared


def narrow_page(
    queryset,
    number,
    per_page: int,
    fetch,
    *,
    count: bool = True,
    counted=None,
    walked=None,
    few: int = 0,
    **cursors,
):
    """A Page of `queryset` (ordered, filtered; or a list of ids, in order) whose objects
    are `fetch(ids)` in that order; without `count`, a countless page (which takes
    `after`/`before`).
    `counted`: the same rows, cheaper to count (without the joins that only the order
    needs); `walked`: their order values, read from one index (TwoEndedPaginator).
    `few` (a search, which finds a few rows most often): the ids of up to `few` rows are
    read first; if that is all of them, they are counted and paged in Python, and the
    search runs once instead of twice (the count, then the page)."""
    ids = queryset if isinstance(queryset, list) else _ids_of(queryset)
    if count and few:
        found = list(ids[: few + 1])
        if len(found) <= few:
            ids, counted = found, None
    if count:
        paginator = TwoEndedPaginator(ids, per_page, counted=counted, walked=walked)
        page = paginator.get_page(number, **cursors)
    else:
        paginator = CountlessPaginator(ids, per_page, counted=counted, walked=walked)
        page = paginator.get_page(number, **cursors)
    ids = [_pk(row) for row in page.object_list]
    found = {obj.pk: obj for obj in fetch(ids)} if ids else {}
    page.object_list = [found[pk] for pk in ids if pk in found]
    return page


def _ids_of(queryset):
    """The list's ids; with their order values when these are read through a join (the
    groups' and the accounts' local parts), so that the page's cursors are read with its
    rows (Keyset.mark) rather than by a query of their own."""
    fields = Keyset(queryset).fields
    # Not when the id is an order value too (read twice, Django names it apart).
    if any("__" in field for field in fields) and "pk" not in fields:
        return queryset.values_list("pk", *fields)
    return queryset.values_list("pk", flat=True)


class TwoEndedPaginator(Paginator):
    """Reads a page of the list's second half from its end: OFFSET costs the rows it
    skips, and from the end of the list the last pages skip few. The pages in between,
    DEEP rows or more from either end, are reached by cursors: a page's Next and Previous
    links carry its last and first rows' order values when the page they lead to is that
    deep, and that page is then read from the index at the cursor (Keyset), where its
    number would make an OFFSET over thousands of rows (page 250 of 500 groups: 17 ms in
    PostgreSQL, which sorted the 10,000 instead of walking 5,000). A page asked by its
    number (typed, bookmarked, or linked nearer the ends) WALK rows or more from both ends
    is found the same way when the list has `walked` rows: the order values of the same
    rows, in the same order, read from one index without the list's joins, so that an
    OFFSET over them walks that index alone (page 250: 29 ms sorted, 1.4 ms walked), from
    the nearer end; the page is the rows after the one before it. A Previous link's page
    is found along them too. Without them, such a page costs its OFFSET. `counted`
    (optional): the same rows, to count."""

    DEEP = 1_000
    # A page typed or linked by its number this many rows or more from both ends is found
    # along the `walked` rows: PostgreSQL sorted the 10,000 groups for an OFFSET of 480
    # already (15 ms), where it walked the index for 300.
    WALK = 200

    def __init__(self, object_list, per_page, *, counted=None, walked=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.counted, self.walked = counted, walked

    def get_page(self, number, *, after: str = "", before: str = ""):
        keyset = None if isinstance(self.object_list, list) else Keyset(self.object_list)
        page = self._at_cursor(keyset, number, after, before) if keyset else None
        if page is None and keyset and self.walked is not None:
            page = self._walked_to(keyset, number)
        if page is None:
            page = super().get_page(number)
            page.object_list = list(page.object_list)  # read once, here rather than later
        if keyset is None:
            page.next_cursor = page.previous_cursor = ""
            return page
        # Only towards a deep page: the cursors cost a query (their rows' order values).
        near = {n for n in (page.number - 1, page.number + 1) if not self._deep(n)}
        return keyset.mark(page, skip=near)

    def _deep(self, number: int, rows: int | None = None) -> bool:
        """Whether reading page `number` by its number would skip DEEP (or `rows`) rows or
        more, from the start or (a page of the second half, read reversed) from the end."""
        if not 1 <= number <= self.num_pages:
            return False
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return min(bottom, self.count - top) >= (self.DEEP if rows is None else rows)

    def _at_cursor(self, keyset, number, after: str, before: str):
        """The page after (or before) a cursor, numbered as its link said; None when the
        cursor says nothing valid or the list changed so that it leads nowhere (the caller
        then reads the page by its number)."""
        cursor = after or before
        key = keyset.decode(cursor) if cursor else None
        if key is None:
            return None
        try:
            number = self.validate_number(number)
        except (PageNotAnInteger, EmptyPage):
            return None
        if after:
            rows = keyset.following(key, self.per_page)
        elif self.walked is not None:
            # Read backwards, the list's joins were planned as a sort of every row before
            # the cursor (PostgreSQL misjudged how many there are); along the walk, the row
            # before the page is found, and the page read forwards from it.
            walked = Keyset(self.walked).preceding(key, self.per_page + 1)
            if len(walked) <= self.per_page:  # fewer rows before it than its number says
                return None
            rows = keyset.following(list(walked[0]), self.per_page)
        else:
            rows = keyset.preceding(key, self.per_page)
            if len(rows) < self.per_page:  # fewer rows before it than its number says
                return None
        return self._get_page(rows, number, self) if rows else None

    def _walked_to(self, keyset, number):
        """A page WALK rows or more from both ends, asked by its number: the rows after the
        one before it, whose order values are found along the `walked` rows, from the nearer
        end. None when it is nearer an end (its OFFSET is short), or the list changed under
        the walk."""
        try:
            number = self.validate_number(number)
        except (PageNotAnInteger, EmptyPage):
            return None
        if not keyset.order or not self._deep(number, self.WALK):
            return None
        before_page = _key_before(self.walked, (number - 1) * self.per_page, self.count)
        rows = keyset.following(before_page, self.per_page) if before_page else []
        return self._get_page(rows, number, self) if rows else None

    @cached_property
    def count(self):
        if isinstance(self.object_list, list):
            return len(self.object_list)
        return (self.object_list if self.counted is None else self.counted).count()

    def validate_number(self, number):
        """Also takes "last", as Django's ListView does."""
        return super().validate_number(self.num_pages if number == "last" else number)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2 or not getattr(self.object_list, "ordered", False):
            return super().page(number)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        return self._get_page(rows[::-1], number, self)


def _key_before(walked, bottom: int, total: int) -> list | None:
    """The order values of the row before position `bottom` of the `total` rows, walked
    from the nearer end of `walked` (a deep page is the rows after it); None when the list
    is shorter than counted (rows deleted meanwhile)."""
    try:
        if bottom <= total // 2:
            return list(walked[bottom - 1])
        return list(walked.reverse()[total - bottom])
    except IndexError:
        return None


class CappedCountPaginator(Paginator):
    """Counts up to CAP rows, no further: support's lists (the admin needs a count) cost the
    same for a service of a million memberships as for a small one. Past the cap the page
    says "more than" (templates/admin/pagination.html), and a filter or a search narrows."""

    CAP = 10_000

    @cached_property
    def count(self):
        # Only the ids, unordered: the list's annotations (a group's member count, ...)
        # would otherwise be computed for every row counted.
        return self.object_list.values("pk").order_by()[: self.CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.CAP


class CountlessPaginator(Paginator):
    """A paginator that shows no total (`count` and `num_pages` are None), only whether a
    next page exists. It counts only for a page typed by its number past the first DEEP
    rows: in the list's second half such a page is read from the end, reversed (as
    TwoEndedPaginator does), instead of an OFFSET that reads every row before it (the last
    of 50,000 accounts: 35 ms, the count 2 ms). With `walked` rows (their order values
    from one index, as TwoEndedPaginator's), such a page is the rows after the one before
    it, found along them from the nearer end; without, pages in the middle cost their
    OFFSET, at most half the list (the tasks' page 1,000 of 2,200: 47 ms in PostgreSQL,
    which computed the progress of every task it skipped). `counted`: the same rows,
    cheaper to count, or a function that says how many there are (a count the database
    keeps)."""

    count = None
    num_pages = None
    DEEP = 1_000

    def __init__(self, object_list, per_page, *, counted=None, walked=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.counted, self.walked = counted, walked

    def validate_number(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("not an integer") from None
        if number < 1:
            raise EmptyPage("less than 1")
        return number

    def get_page(self, number, *, after: str = "", before: str = ""):
        if number == "last" and not (after or before):  # a bookmark: counted, as deep pages
            number = max(1, -(-self._total() // self.per_page))
        try:
            number = self.validate_number(number)
        except (PageNotAnInteger, EmptyPage):
            number = 1
        keyset = Keyset(self.object_list)
        if after and (key := keyset.decode(after)) is not None:
            rows = keyset.following(key, self.per_page + 1)
            if rows:
                page = CountlessPage(rows[: self.per_page], max(number, 2), self,
                                     more=len(rows) > self.per_page)  # fmt: skip
                return keyset.mark(page)
        elif before and (key := keyset.decode(before)) is not None:
            rows = keyset.preceding(key, self.per_page + 1)
            if len(rows) > self.per_page:  # rows before these: not the first page
                page = CountlessPage(rows[1:], max(number, 2), self, more=True)
                return keyset.mark(page)
            if rows:
                return keyset.mark(CountlessPage(rows, 1, self, more=True))
        bottom = (number - 1) * self.per_page
        if bottom >= self.DEEP and self.object_list.ordered:
            total = self._total()
            if bottom >= total:  # past the end (the list shrank): the first page
                return self.get_page(1)
            # Along the walk when DEEP rows from the end too; nearer the end, from it.
            far = total - min(bottom + self.per_page, total) >= self.DEEP
            walk = self.walked is not None and keyset.order and far
            before_page = _key_before(self.walked, bottom, total) if walk else None
            if before_page and (rows := keyset.following(before_page, self.per_page + 1)):
                page = CountlessPage(rows[: self.per_page], number, self,
                                     more=len(rows) > self.per_page)  # fmt: skip
                return keyset.mark(page)
            if bottom > total // 2:
                top = min(bottom + self.per_page, total)
                rows = list(self.object_list.reverse()[total - top : total - bottom])
                return keyset.mark(CountlessPage(rows[::-1], number, self, more=top < total))
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:  # past the end (the list shrank): the first page
            return self.get_page(1)
        page = CountlessPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)
        return keyset.mark(page)

    def _total(self) -> int:
        if callable(self.counted):
            return self.counted()
        return (self.object_list if self.counted is None else self.counted).count()


class Keyset:
    """The cursors of a list ordered by plain fields (the last one unique, e.g. the pk):
    a cursor is the signed values of a row's order fields; the rows after it are those
    whose (fields) come after its values, in the order's directions."""

    SALT = "exchange_groups.paging"

    def __init__(self, queryset):
        self.queryset = queryset
        order = queryset.query.order_by
        # Only a plain list of objects, ids, or its order values, ordered by field names
        # has cursors (not a union, not an order by expression, not other values).
        named = all(isinstance(f, str) for f in order)
        fields = [f.removeprefix("-") for f in order] if named else []
        rows = queryset._fields in (None, ("pk",), tuple(fields), ("pk", *fields))
        self.order = list(order) if named and rows and not queryset.query.combinator else []
        self.fields = fields if self.order else []

    def decode(self, cursor: str):
        if not self.order:
            return None
        try:
            values = signing.loads(cursor, salt=self.SALT)
        except signing.BadSignature:
            return None
        return values if isinstance(values, list) and len(values) == len(self.fields) else None

    def _beyond(self, key, forward: bool) -> Q:
        """Rows strictly after (forward) or before `key`: a >= x and ((a > x) or (a = x and
        b > y)...). The leading bound alone is what lets the index start at the cursor (the
        OR of the rest cannot). A `key` of the leading fields only (a walk that reads those,
        unique by themselves) means the rows after every row that has them."""
        conditions = []
        for i, (order, value) in enumerate(zip(self.order, key, strict=False)):
            lookup = "gt" if order.startswith("-") != forward else "lt"
            equal = dict(zip(self.fields[:i], key[:i], strict=True))
            conditions.append(Q(**equal, **{f"{self.fields[i]}__{lookup}": value}))
        first = "gte" if self.order[0].startswith("-") != forward else "lte"
        return Q(**{f"{self.fields[0]}__{first}": key[0]}) & functools.reduce(
            operator.or_, conditions
        )

    def following(self, key, count: int) -> list:
        """Up to `count` rows after the cursor's `key`, in the list's order."""
        return list(self.queryset.filter(self._beyond(key, forward=True))[:count])

    def preceding(self, key, count: int) -> list:
        """Up to `count` rows before the cursor's `key` (the nearest), in the list's order."""
        before = self.queryset.reverse().filter(self._beyond(key, forward=False))
        return list(before[:count])[::-1]

    def mark(self, page, skip=()):
        """Give the page the cursors of its first and last rows: read from the rows when
        they carry them (ids with their order values, objects ordered by their own
        fields), else by one indexed query. No cursor towards the pages numbered in `skip`
        (their number reads them as cheaply)."""
        page.next_cursor = page.previous_cursor = ""
        to_next = page.has_next() and page.number + 1 not in skip
        to_previous = page.has_previous() and page.number - 1 not in skip
        if not page.object_list or not self.order or not (to_next or to_previous):
            return page
        first, last = page.object_list[0], page.object_list[-1]
        ids = [_pk(first), _pk(last)]
        if isinstance(first, tuple) and len(first) == len(self.fields) + 1:
            keys = {row[0]: list(row[1:]) for row in (first, last)}  # (pk, *order values)
        elif isinstance(first, Model) and not any("__" in field for field in self.fields):
            keys = {_pk(row): [getattr(row, f) for f in self.fields] for row in (first, last)}
        else:
            read = _order_values(self.queryset.model, tuple(self.fields))
            keys = {row[0]: row[1:] for row in read(ids=ids)}
        # A row deleted meanwhile has no cursor: its link then carries the page number.
        if to_next and ids[1] in keys:
            page.next_cursor = self._encode(keys[ids[1]])
        if to_previous and ids[0] in keys:
            page.previous_cursor = self._encode(keys[ids[0]])
        return page

    def _encode(self, values) -> str:
        plain = [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
        return signing.dumps(plain, salt=self.SALT, compress=True)


@functools.cache
def _order_values(model, fields: tuple) -> Prepared:
    """(pk, *fields) of two rows of a list, by a query compiled once per process."""
    return Prepared(
        lambda ids: model.objects.filter(pk__in=ids).values_list("pk", *fields), ids=Ids(2)
    )


def _pk(row):
    """A row's id: a row of a list read as ids, as (id, *order values), or as objects."""
    return row[0] if isinstance(row, tuple) else getattr(row, "pk", row)


class CountlessPage(Page):
    def __init__(self, object_list, number, paginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self):
        return self.more

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return self.number - 1

    def start_index(self):
        return (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0

    def end_index(self):
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


def read_page(rows: list, number: int, per_page: int) -> CountlessPage:
    """A countless page of rows already read: the page's, and one more if a next page
    exists (no cursors: a list of plain rows, as a union's)."""
    paginator = CountlessPaginator(rows, per_page)
    page = CountlessPage(rows[:per_page], number, paginator, more=len(rows) > per_page)
    page.next_cursor = page.previous_cursor = ""
    return page


def countless_page(
    queryset,
    number,
    per_page: int,
    *,
    after: str = "",
    before: str = "",
    counted=None,
    walked=None,
):
    paginator = CountlessPaginator(queryset, per_page, counted=counted, walked=walked)
    return paginator.get_page(number, after=after, before=before)


def cursors(request) -> dict[str, str]:
    """The Next/Previous link's cursor of a countless list, from the query string."""
    return {"after": request.GET.get("after", ""), "before": request.GET.get("before", "")}
