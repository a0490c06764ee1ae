"""The header half of the group rules: a milter (pymilter, on the MTA's libmilter) that sees
the From and Sender headers, which Postfix never shows a policy service. A message whose
From is a group but whose envelope sender is not (Send on Behalf) is accepted only when
Sender is the authenticated account and that account holds Send on Behalf on the group
(delivery.header_refusal). It runs in the policy service's process, on its own port."""

import logging
from email.utils import getaddresses

import Milter

from . import directory_tree
from .delivery import Message, header_refusal
from .mail_directory import MailDirectory

logger = logging.getLogger(__name__)


def _address(value: str | None) -> str | None:
    found = [address for _name, address in getaddresses([value or ""]) if address]
    return found[0].lower() if found else None


class GroupSenderMilter(Milter.Base):
    directory_settings: directory_tree.DirectorySettings  # set by run()

    def __init__(self):
        self._reset()

    def _reset(self):
        self.envelope_sender = ""
        self.login = None
        self.headers: dict[str, str] = {}

    @Milter.noreply
    def envfrom(self, mailfrom, *params):
        self._reset()
        self.envelope_sender = mailfrom.strip("<>")
        self.login = self.getsymval("{auth_authen}") or None
        return Milter.CONTINUE

    @Milter.noreply
    def header(self, name, value):
        if name.lower() in ("from", "sender"):
            self.headers.setdefault(name.lower(), value)
        return Milter.CONTINUE

    def eoh(self):
        from_header = _address(self.headers.get("from"))
        if not from_header:
            return Milter.CONTINUE
        message = Message(
            envelope_sender=self.envelope_sender,
            size=0,
            login=self.login,
            from_header=from_header,
            sender_header=_address(self.headers.get("sender")),
        )
        try:
            with directory_tree.connection(self.directory_settings) as conn:
                group = MailDirectory(conn, self.directory_settings.base_dn).group(from_header)
        except directory_tree.DirectoryUnreachable:
            logger.exception("directory unreachable")
            return Milter.TEMPFAIL
        refusal = group and header_refusal(group, message)
        if not refusal:
            return Milter.CONTINUE
        logger.info("refused From %s by %s: %s", from_header, self.login, refusal)
        code, status = refusal.smtp_code.split()
        self.setreply(code, status, refusal.smtp_reply.split(" ", 2)[2])
        return Milter.REJECT


def run(directory_settings: directory_tree.DirectorySettings, host: str, port: int):
    """Serve until the process is told to stop (libmilter handles SIGTERM/SIGINT)."""
    GroupSenderMilter.directory_settings = directory_settings
    Milter.factory = GroupSenderMilter
    Milter.runmilter("exchange-groups", f"inet:{port}@{host}", timeout=30)
