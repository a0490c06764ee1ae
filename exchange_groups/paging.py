"""Paging that costs the same on every page, whatever the number of rows.

- `narrow_page`: the count and the OFFSET run on the ids alone, ordered by an indexed key,
  so they read an index and nothing else; what the page shows (counts, statuses, joins)
  is then computed for its rows only.
- a page in the second half of the list is read from the end (the order reversed), so the
  last page costs what the first does instead of an OFFSET over every row before it;
- `countless_page`: for lists where even counting is what costs (tens of thousands of
  accounts): no total, one row more than the page is read to know whether a next page
  exists.
"""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator


def narrow_page(queryset, number, per_page: int, fetch, *, count: bool = True):
    """A Page of `queryset` (ordered, filtered) whose objects are `fetch(ids)` in the
    queryset's order; without `count`, a countless page."""
    paginator = TwoEndedPaginator if count else CountlessPaginator
    page = paginator(queryset.values_list("pk", flat=True), per_page).get_page(number)
    ids = list(page.object_list)
    found = {obj.pk: obj for obj in fetch(ids)} if ids else {}
    page.object_list = [found[pk] for pk in ids if pk in found]
    return page


class TwoEndedPaginator(Paginator):
    """Reads a page of the list's second half from its end: OFFSET costs the rows it
    skips, and from the end of the list the last pages skip few."""

    def validate_number(self, number):
        """Also takes "last", as Django's ListView does."""
        return super().validate_number(self.num_pages if number == "last" else number)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2 or not self.object_list.ordered:
            return super().page(number)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        return self._get_page(rows[::-1], number, self)


class CountlessPaginator(Paginator):
    """A paginator that never counts: there is no total (`count` and `num_pages` are
    None), only whether a next page exists."""

    count = None
    num_pages = None

    def validate_number(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("not an integer") from None
        if number < 1:
            raise EmptyPage("less than 1")
        return number

    def get_page(self, number):
        try:
            number = self.validate_number(number)
        except (PageNotAnInteger, EmptyPage):
            number = 1
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:  # past the end (the list shrank): the first page
            return self.get_page(1)
        return CountlessPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


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


def countless_page(queryset, number, per_page: int):
    return CountlessPaginator(queryset, per_page).get_page(number)
