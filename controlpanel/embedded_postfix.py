"""A private mail server for the tests and the local directory run: Postfix (its own
configuration and Maildirs in one folder, its queue and data in a short temp folder, a free
port), Dovecot's auth service for SMTP authentication, and the project's policy service and
milter, all configured from deploy/postfix and deploy/dovecot exactly as deploy/README.md
tells an operator. Needs root (Postfix's and Dovecot's own users), as bin/test has.

    python -m controlpanel.embedded_postfix FOLDER   # needs the LDAP_* environment
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
INSTALL_HINT = (
    "Postfix and Dovecot are not installed: as root, "
    "`apt-get install postfix postfix-ldap dovecot-core dovecot-ldap` "
    "(choose 'No configuration' for Postfix)."
)
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def available() -> bool:
    return (
        all(
            shutil.which(name) or Path(f"/usr/sbin/{name}").exists()
            for name in ("postfix", "dovecot")
        )
        and Path(  # fmt: skip
            "/usr/lib/postfix/postfix-ldap.so"
        ).exists()
    )


def render(template: Path, values: dict[str, str]) -> str:
    """The file with each ${NAME} replaced, as `envsubst` does with the names listed."""
    text = template.read_text()
    missing = set(PLACEHOLDER.findall(text)) - set(values)
    if missing:
        raise KeyError(f"{template}: no value for {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _reachable(folder: Path) -> bool:
    """Whether any user may enter `folder` (every folder above it searchable by others)."""
    return all(path.stat().st_mode & 0o001 for path in [folder, *folder.parents])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout} s")


class EmbeddedMailServer:
    """Postfix + Dovecot auth + the policy service in `folder` (a temp folder by default).
    `ldap` holds LDAP_URL, LDAP_BIND_DN, LDAP_BIND_PASSWORD, LDAP_BASE_DN; `relayhost` is
    where external contacts' mail goes (empty: their MX)."""

    def __init__(self, ldap: dict[str, str], folder: Path | None = None, relayhost: str = ""):
        self.ldap = ldap
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="postfix-")).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # Postfix's own user reaches its data directory in it
        self.relayhost = relayhost
        self.config_dir = self.folder / "postfix"
        # What holds sockets (the queue, Dovecot's run folder) needs a short path (a socket
        # path has at most 107 bytes), and Postfix's own user must reach its data folder:
        # they live in a short temp folder of their own, removed at stop. The Maildirs stay
        # in `folder` unless the mailbox user cannot enter it (a 0700 home or temp folder).
        self._runtime = Path(tempfile.mkdtemp(prefix="pf-"))
        self._runtime.chmod(0o755)
        self.queue_dir = self._runtime / "queue"
        self.data_dir = self._runtime / "data"
        self.dovecot_run_dir = self._runtime / "dovecot"
        self.maildir_root = (self.folder if _reachable(self.folder) else self._runtime) / "maildirs"
        self.smtp_port = 0
        self.policy_port = 0
        self.milter_port = 0
        self._processes: list[tuple[str, subprocess.Popen]] = []

    @property
    def settings(self) -> dict[str, str]:
        """The environment that points the panel's "Test sending" at this server."""
        return {
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": str(self.smtp_port),
            "MAIL_MAILDIR_ROOT": str(self.maildir_root),
        }

    def start(self, log=None):
        """Start everything; the processes' output goes to `log` (default: mail.log in
        the folder, whose end is in the error when something does not start)."""
        log = log or open(self.folder / "mail.log", "ab")  # noqa: SIM115 (kept open)
        try:
            self._start(log)
        except Exception as exc:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"{exc}\n{tail}") from exc

    def log_tail(self, lines: int = 30) -> str:
        path = self.folder / "mail.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if (path.exists())
            else ""
        )

    def _start(self, log):
        self.smtp_port = free_port()
        self.milter_port = free_port()
        self._start_policy_service(log)
        self._write_config()
        dovecot = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.folder / "dovecot" / "dovecot.conf")],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        self._processes.append(("dovecot", dovecot))
        postfix = subprocess.Popen(
            ["postfix", "-c", str(self.config_dir), "start-fg"],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        self._processes.append(("postfix", postfix))
        wait_for_port(self.smtp_port, postfix, "postfix")
        self._wait_for_auth_socket(dovecot)

    def _start_policy_service(self, log):
        process = subprocess.Popen(
            [
                sys.executable, str(ROOT / "manage.py"), "policy_service",
                "--port", "0", "--milter-port", str(self.milter_port),
            ],
            stdout=subprocess.PIPE, stderr=log, start_new_session=True,
            env={**os.environ, **self.ldap}, cwd=ROOT, text=True,
        )  # fmt: skip
        self._processes.append(("policy service", process))
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the policy service did not start: {line!r}")
        self.policy_port = int(line.rsplit(":", 1)[1])

    def _wait_for_auth_socket(self, dovecot, timeout: float = 10):
        socket_path = self.queue_dir / "private" / "auth"
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            if dovecot.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dovecot did not create its auth socket")
            time.sleep(0.05)
        time.sleep(0.2)  # its other listeners, which can still fail
        if dovecot.poll() is not None:
            raise RuntimeError(f"dovecot exited with {dovecot.returncode}")

    def _write_config(self):
        vmail = pwd.getpwnam("nobody")
        values = {
            **self.ldap,
            "MAILDIR_ROOT": str(self.maildir_root),
            "VMAIL_UID": str(vmail.pw_uid),
            "VMAIL_GID": str(vmail.pw_gid),
            "RELAYHOST": self.relayhost,
            "POLICY_SERVICE": f"inet:127.0.0.1:{self.policy_port}",
            "MILTER": f"inet:127.0.0.1:{self.milter_port}",
            "DOVECOT_RUN_DIR": str(self.dovecot_run_dir),
            "DOVECOT_CONFIG_DIR": str(self.folder / "dovecot"),
            "POSTFIX_QUEUE_DIR": str(self.queue_dir),
        }
        (self.config_dir / "ldap").mkdir(parents=True, exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        (self.folder / "dovecot").mkdir(parents=True, exist_ok=True)
        self.dovecot_run_dir.mkdir(exist_ok=True)
        self.maildir_root.mkdir(exist_ok=True)
        os.chown(self.maildir_root, vmail.pw_uid, vmail.pw_gid)
        data_dir = self.data_dir
        data_dir.mkdir(exist_ok=True)
        shutil.chown(data_dir, "postfix")

        source = DEPLOY / "postfix"
        for template in (source / "ldap").glob("*.cf"):
            (self.config_dir / "ldap" / template.name).write_text(render(template, values))
        # The operator's settings, then what makes this instance private.
        main_cf = render(source / "main.cf", values) + (
            "\n# --- this private instance ---\n"
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.queue_dir}\n"
            f"data_directory = {data_dir}\n"
            "maillog_file = /dev/stdout\n"
            "inet_interfaces = 127.0.0.1\n"
            "inet_protocols = ipv4\n"
            "myhostname = mail.localhost\n"
            "mydestination =\n"
            "alias_maps =\n"
            "alias_database =\n"
            "mynetworks = 127.0.0.0/8\n"
            "smtp_dns_support_level = disabled\n"
        )
        (self.config_dir / "main.cf").write_text(main_cf)
        master_cf = (source / "master.cf").read_text()
        master_cf = re.sub(r"^smtp(\s+)inet", rf"{self.smtp_port}\1inet", master_cf, flags=re.M)
        (self.config_dir / "master.cf").write_text(master_cf)
        for name in ("dovecot.conf", "dovecot-ldap.conf.ext"):
            target = self.folder / "dovecot" / name
            target.write_text(render(DEPLOY / "dovecot" / name, values))
        (self.folder / "dovecot" / "dovecot-ldap.conf.ext").chmod(0o600)
        check = subprocess.run(
            ["postfix", "-c", str(self.config_dir), "check"], capture_output=True, text=True
        )
        if check.returncode:
            raise RuntimeError(f"postfix check: {check.stderr.strip()}")

    def stop(self):
        if self.config_dir.exists():
            subprocess.run(["postfix", "-c", str(self.config_dir), "stop"], capture_output=True)
        for _name, process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self._runtime, ignore_errors=True)


class _Running:
    """The mail server seen as one process (poll/terminate/wait), as the local run's
    process list expects."""

    def __init__(self, server: EmbeddedMailServer):
        self.server = server

    returncode = None

    def poll(self):
        processes = [process for _name, process in self.server._processes]
        self.returncode = next((p.returncode for p in processes if p.poll() is not None), None)
        return self.returncode

    def terminate(self):
        self.server.stop()

    def wait(self, timeout=None):
        # The run waits for every process, even one whose piece exited (poll() not None):
        # stopping here leaves none of the others running. stop() may run twice.
        self.server.stop()
        return self.returncode or 0


def start_for_run(var_dir: Path, platform) -> None:
    """The local run's starter (`bin/run --directory`, controlpanel/local_platform.py):
    the mail server on the directory started before it, its data kept in var/mail."""
    from controlpanel.local_platform import DEMO_MAILBOX_PASSWORD, PlatformUnavailable

    if not available():
        raise PlatformUnavailable(INSTALL_HINT)
    names = ("LDAP_URL", "LDAP_BIND_DN", "LDAP_BIND_PASSWORD", "LDAP_BASE_DN")
    server = EmbeddedMailServer({name: platform.env[name] for name in names}, var_dir / "mail")
    server.start()
    platform.processes.append(("postfix", _Running(server)))
    platform.env.update(server.settings)
    platform.notes.append(
        f"Postfix on 127.0.0.1:{server.smtp_port} (SMTP; the demo mailboxes log in with "
        f"their address and {DEMO_MAILBOX_PASSWORD}), mailboxes in {server.maildir_root}"
        f"/<domain>/<local part>/new. Try: swaks --server 127.0.0.1:{server.smtp_port} "
        f"--from someone@outside.example --to <a group's address>"
    )


def main(argv: list[str]) -> int:
    names = ("LDAP_URL", "LDAP_BIND_DN", "LDAP_BIND_PASSWORD", "LDAP_BASE_DN")
    server = EmbeddedMailServer({name: os.environ[name] for name in names}, Path(argv[1]))
    server.start(log=sys.stderr)
    print(f"SMTP on 127.0.0.1:{server.smtp_port}, Maildirs in {server.maildir_root}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
