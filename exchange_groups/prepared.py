"""Querysets compiled to SQL once per process, then run with other values.

Django compiles a queryset to SQL every time it runs it. On the pages every customer
reads most, compiling cost as much as running: the groups list's overview (six correlated
subqueries: counts, statuses) took 2.0 ms to compile and 1.5 to 2.7 ms for PostgreSQL to
answer, and the service read by every page 0.7 ms of its 1.4, on this project's
development machine. A prepared queryset is composed and compiled once, with stand-in
values; each run puts the real values in the stand-ins' place among the compiled
parameters, and Django's own iterable reads the rows into model instances (select_related,
annotations) as it would have. The SQL text is the ORM's own: nothing here is written by
hand, and a stand-in the compiled parameters do not hold as given (a lookup that rewrites
its value, "%...%") is refused when compiling.

    service_named = Prepared(
        lambda user, name: ExchangeService.objects.granted_to(user).filter(name=name),
        user=User, name=str,
    )
    service_named(user=request.user, name="hosted-1")  # -> a list

Stand-ins are described by their kind: `int`, `str`, a model class (its instance's
primary key is the parameter), `Contains`, a text looked up by `contains` or `icontains`
(the parameter is "%text%", the text escaped for LIKE as the lookup escapes it), or
`Ids(size)`, a list of up to `size` ids (`__in`): fewer ids are followed by an id no row
has, up to one of a few compiled sizes, which changes nothing in an `IN (...)`; more take
the ORM's ordinary path. Model instances
(select_related, annotations) or values (values_list) are read as the ORM reads them; not
counts, nor slices that vary (LIMIT is in the SQL text).
"""

import copy
import itertools
import threading

from django.db import connections
from django.db.models import Model

# Values no row holds (negative ids, control characters): found among the compiled
# parameters by value.
_STAND_IN = -987_654_321_000
# The id that fills a list of ids to its size: no row has it, so `IN (...)` (and NOT IN)
# means what it did with the ids alone, an empty list included.
_NO_ROW = -1


class Ids:
    """The stand-in of a list of up to `size` ids. A list is compiled at a few sizes (4,
    16, 64... up to `size`), and filled to the smallest that holds it: a page of 20 groups
    in 30 groups each does not send 500 parameters, nor one of 3 ids 64."""

    def __init__(self, size: int):
        self.size = size

    def fitting(self, count: int) -> int:
        size = 4
        while size < count:
            size *= 4
        return min(size, self.size)


class Contains:
    """The stand-in of a text looked up by `contains` or `icontains`, whose lookup sends
    "%text%", the text's "%", "_" and "\\" escaped."""

    @staticmethod
    def pattern(text: str, ops) -> str:
        return f"%{ops.prep_for_like_query(text)}%"  # as PatternLookup writes it


class Prepared:
    def __init__(self, build, **kinds):
        self.build, self.kinds = build, kinds
        self._compiled: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def __call__(self, **values) -> list:
        sizes = {}
        for name, kind in self.kinds.items():
            if isinstance(kind, Ids):
                values[name] = list(values[name])
                if len(values[name]) > kind.size:
                    return list(self.build(**values))
                sizes[name] = kind.fitting(len(values[name]))
        queryset, compiler, sql, slots, params = self._compile(sizes)
        params = list(params)
        ops = connections[queryset.db].ops
        for name, kind in self.kinds.items():
            given = _parameters(kind, values[name], sizes.get(name), ops)
            for places, value in zip(slots[name], given, strict=True):
                for place in places:  # a value used twice (a union's parts) is in both
                    params[place] = value
        # A copy per run: the compiled one is shared by the process's threads, each with
        # its own connection.
        run = copy.copy(compiler)
        run.connection = connections[queryset.db]
        run.as_sql = lambda *args, **kwargs: (sql, tuple(params))
        prepared = queryset._chain()  # with a query of its own, whose compiler is `run`
        prepared.query.get_compiler = lambda *args, **kwargs: run
        return list(prepared)

    def _compile(self, sizes: dict[str, int]) -> tuple:
        key = tuple(sizes.values())
        with self._lock:
            if key not in self._compiled:
                numbers = itertools.count()
                stand_ins = {
                    name: _stand_in(kind, numbers, sizes.get(name))
                    for name, kind in self.kinds.items()
                }
                queryset = self.build(**stand_ins)
                compiler = queryset.query.get_compiler(using=queryset.db)
                ops = compiler.connection.ops
                # as_sql also sets up what reading the rows needs (select, klass_info).
                sql, params = compiler.as_sql()
                at = {}
                for i, value in enumerate(params):
                    if isinstance(value, int | str):
                        at.setdefault(value, []).append(i)
                slots = {}
                for name, kind in self.kinds.items():
                    expected = _parameters(kind, stand_ins[name], sizes.get(name), ops)
                    if not all(value in at for value in expected):
                        raise ValueError(f"{name}: not a parameter of the compiled query")
                    slots[name] = [at[value] for value in expected]  # where each one is
                self._compiled[key] = (queryset, compiler, sql, slots, params)
            return self._compiled[key]


def _stand_in(kind, numbers, size):
    if isinstance(kind, Ids):
        return [_STAND_IN - next(numbers) for _ in range(size)]
    if kind is int:
        return _STAND_IN - next(numbers)
    if kind is str or kind is Contains:
        return f"\x01stand-in {next(numbers)}\x01"
    if isinstance(kind, type) and issubclass(kind, Model):
        return kind(pk=_STAND_IN - next(numbers))
    raise TypeError(f"no stand-in for {kind!r}")


def _parameters(kind, value, size, ops) -> list:
    """The compiled parameters that `value` gives (a list of ids filled to `size`, a
    text's LIKE pattern)."""
    if kind is Contains:
        return [Contains.pattern(value, ops)]
    if isinstance(kind, Ids):
        return value + [_NO_ROW] * (size - len(value))
    if isinstance(kind, type) and issubclass(kind, Model):
        return [value.pk]
    return [value]
