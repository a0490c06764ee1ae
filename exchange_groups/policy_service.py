"""The mail server's policy service: Postfix's policy delegation protocol (as iRedMail's
iRedAPD speaks it), answering from the directory with the one delivery decision
(delivery.decide). Run with `python manage.py policy_service`.

Postfix asks at RCPT (each recipient, with the size the client declared, if any) and at
END-OF-DATA (with the real size). What it checks: sender authentication required, the
group's max receive size, the account's and the group's max send size. Send As is checked by
Postfix itself (smtpd_sender_login_maps), before; the From/Sender headers of Send on Behalf
are never shown to a policy service (see the milter in mail_milter.py).

Protocol: the client sends `name=value` lines ended by an empty line; the server answers
`action=...` and an empty line, on the same connection, as many times as Postfix asks."""

import logging
import socketserver
import threading
from collections import OrderedDict

from . import directory_tree
from .delivery import Message, SenderFacts, Verdict, decide
from .mail_directory import MailDirectory

logger = logging.getLogger(__name__)

# Messages whose RCPT stage was seen and whose END-OF-DATA is still to come.
MAX_PENDING = 10_000


class Policy:
    """The answers, independent of the network (one instance shared by the threads)."""

    def __init__(self, directory_settings: directory_tree.DirectorySettings):
        self.directory_settings = directory_settings
        self._pending: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, request: dict[str, str], directory: MailDirectory) -> str:
        message = Message(
            envelope_sender=request.get("sender", ""),
            size=int(request.get("size") or 0),
            login=request.get("sasl_username") or None,
        )
        account = self._account(directory, message)
        instance = request.get("instance", "")
        if request.get("protocol_state") == "END-OF-DATA":
            with self._lock:
                groups = self._pending.pop(instance, set())
        else:
            groups = {request.get("recipient", "").lower()}
        for address in sorted(groups):
            group = directory.group(address)
            if group is None:
                continue
            verdict = decide(group, message, account)
            if not verdict.accepted:
                return self._refuse(verdict, address, message)
            if request.get("protocol_state") == "RCPT":
                with self._lock:
                    self._pending.setdefault(instance, set()).add(address)
                    while len(self._pending) > MAX_PENDING:
                        self._pending.popitem(last=False)
        if account and message.login and message.size > account.max_send_size:
            return "552 5.3.4 Message larger than the sending account's maximum send size"
        return "DUNNO"

    @staticmethod
    def _account(directory: MailDirectory, message: Message) -> SenderFacts | None:
        for address in (message.login, message.envelope_sender):
            if address and (account := directory.account(address)):
                return account
        return None

    @staticmethod
    def _refuse(verdict: Verdict, address: str, message: Message) -> str:
        logger.info("refused %s -> %s: %s", message.envelope_sender, address, verdict.refusal)
        return verdict.smtp_reply


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        # One directory connection per Postfix connection (Postfix reuses its connection).
        with directory_tree.connection(self.server.policy.directory_settings) as conn:
            directory = MailDirectory(conn, self.server.policy.directory_settings.base_dn)
            while request := self._read_request():
                try:
                    action = self.server.policy.answer(request, directory)
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
