"""The mail server's policy service: Postfix's policy delegation protocol (as iRedMail's
iRedAPD speaks it), answering from the directory with the one delivery decision
(delivery.decide). Run with `python manage.py policy_service`.

Postfix asks at RCPT (each recipient, with the size the client declared, if any) and at
the end of the message (smtpd_end_of_data_restrictions, protocol_state END-OF-MESSAGE,
with the real size). What it checks: sender authentication required, the
group's max receive size, the account's and the group's max send size. Send As is checked by
Postfix itself (smtpd_sender_login_maps), before; the From/Sender headers of Send on Behalf
are never shown to a policy service: the milter in mail_milter.py checks them.

Protocol: the client sends `name=value` lines ended by an empty line; the server answers
`action=...` and an empty line, on the same connection, as many times as Postfix asks."""

import logging
import socketserver
import threading
from collections import OrderedDict

from . import directory_tree
from .delivery import (
    Message,
    SenderFacts,
    account_refusal,
    envelope_refusal,
    recipient_refusal,
)
from .mail_directory import MailDirectory

logger = logging.getLogger(__name__)

# Messages whose RCPT stage was seen and whose end is still to come.
MAX_PENDING = 10_000
# At the end of the message Postfix counts the headers it added itself (Received:...): the real size
# is checked with this allowance, the size the client declared (SIZE=) at RCPT exactly.
ADDED_HEADERS_ALLOWANCE = 4096


class Policy:
    """The answers, independent of the network (one instance shared by the threads)."""

    def __init__(self, directory_settings: directory_tree.DirectorySettings):
        self.directory_settings = directory_settings
        self._pending: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, request: dict[str, str], directory: MailDirectory) -> str:
        end_of_data = request.get("protocol_state") == "END-OF-MESSAGE"
        size = int(request.get("size") or 0)
        message = Message(
            envelope_sender=request.get("sender", ""),
            size=max(0, size - ADDED_HEADERS_ALLOWANCE) if end_of_data else size,
            login=request.get("sasl_username") or None,
        )
        account = self._account(directory, message)
        instance = request.get("instance", "")
        if end_of_data:
            with self._lock:
                recipients = self._pending.pop(instance, set())
        else:
            recipients = {request.get("recipient", "").lower()}
        refusal = None
        # Sending as a group: its max send size (Postfix has checked the Send As right).
        if message.envelope_sender and (sender_group := directory.group(message.envelope_sender)):
            refusal = envelope_refusal(sender_group, message, account)
        for address in sorted(recipients):
            if refusal or (group := directory.group(address)) is None:
                continue
            refusal = recipient_refusal(group, message, account)
            if request.get("protocol_state") == "RCPT":
                self._remember(instance, address)
        refusal = refusal or account_refusal(account, message)
        if refusal:
            logger.info("refused %s -> %s: %s", message.envelope_sender, recipients, refusal)
            return refusal.smtp_reply
        return "DUNNO"

    def _remember(self, instance: str, address: str) -> None:
        """The groups of a message, for its end-of-message request (its real size)."""
        with self._lock:
            self._pending.setdefault(instance, set()).add(address)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)

    @staticmethod
    def _account(directory: MailDirectory, message: Message) -> SenderFacts | None:
        for address in (message.login, message.envelope_sender):
            if address and (account := directory.account(address)):
                return account
        return None


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        # Postfix keeps its connection to us for many messages; the directory may restart
        # meanwhile, so each request reads it over a connection of its own.
        config = self.server.policy.directory_settings
        while request := self._read_request():
            try:
                with directory_tree.connection(config) as conn:
                    action = self.server.policy.answer(request, MailDirectory(conn, config.base_dn))
            except Exception:
                logger.exception("policy request failed")
                action = "DEFER_IF_PERMIT Policy service error, try again later"
            self.wfile.write(f"action={action}\n\n".encode())
            self.wfile.flush()

    def _read_request(self) -> dict[str, str] | None:
        request = {}
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return request
            name, _, value = line.partition("=")
            request[name] = value
        return None  # Postfix closed the connection


class PolicyServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], policy: Policy):
        self.policy = policy
        super().__init__(address, _Handler)
