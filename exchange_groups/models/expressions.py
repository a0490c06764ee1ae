"""The SQL expressions that several queries share, each defined once."""

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat


def full_address(path: str = "address"):
    """The address `local_part@domain` of the Address at `path` (as Address.email, in SQL:
    to search, sort or compare by it); `path` "": the Address itself."""
    prefix = f"{path}__" if path else ""
    return Concat(f"{prefix}local_part", Value("@"), f"{prefix}domain__name")


def count_of(model, field: str, **filters):
    """A correlated COUNT of `model` rows whose `field` is the outer row: one query for a
    page of rows, and no row multiplication (unlike Count over a join)."""
    rows = (
        model.objects.filter(**{field: OuterRef("pk")}, **filters)
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))
