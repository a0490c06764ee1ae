"""How a group's settings are shown to a customer, in one place: the summary of Configurer le
groupe, the wizard's summary and the history all name and format them the same way."""

from django.utils.translation import gettext as _

from .models import Group

SIZES = ("max_receive_size", "max_send_size")


def label(name: str) -> str:
    if name == "address":
        return _("Email address")
    return str(Group._meta.get_field(name).verbose_name).capitalize()


def shown(name: str, value) -> str:
    """A setting's value in words: sizes in MB (none is the maximum), yes or no, — for none."""
    if name in SIZES:
        return _("Maximum value (100 MB)") if value is None else _("%(size)s MB") % {"size": value}
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value) if value not in (None, "") else "—"
