"""The local "real platform" of `bin/run --directory` (runstack --directory): the servers a
provider runs beside the panel, started on this machine in var/, and the settings that
point the panel's processes at them.

Today: OpenLDAP (controlpanel/embedded_slapd.py), with the directory backend selected. The
mail server of the next issue starts here too, on the same directory: add its starter to
STARTERS.
"""

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

DIRECTORY_BACKEND = "exchange_groups.backends.directory.DirectoryBackend"
# The userPassword of the demo mailboxes written to the directory (SMTP authentication).
DEMO_MAILBOX_PASSWORD = "boite-demo-2026"


class PlatformUnavailable(Exception):
    """A server of the local platform is not installed; the message says how to get it."""


@dataclass
class LocalPlatform:
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    # Environment for the panel's processes (web, worker, beat) and this one.
    env: dict[str, str] = field(default_factory=dict)
    # What to print once everything runs.
    notes: list[str] = field(default_factory=list)


def start_directory(var_dir: Path, platform: LocalPlatform) -> None:
    try:
        from controlpanel import embedded_slapd
    except ImportError as exc:  # python-ldap: bin/run --directory installs it
        raise PlatformUnavailable(
            "python-ldap is missing: start with `bin/run --directory`, which installs the "
            "'directory' extra (pip install -e '.[directory]')."
        ) from exc
    if not embedded_slapd.available():
        raise PlatformUnavailable(embedded_slapd.INSTALL_HINT)
    server = embedded_slapd.EmbeddedSlapd(var_dir / "slapd", keep=True)
    server.start()
    platform.processes.append(("slapd", server._proc))
    platform.env.update(server.settings)
    platform.env["PROVISIONING_BACKEND"] = DIRECTORY_BACKEND
    platform.notes.append(
        f"OpenLDAP on {server.settings['LDAP_URL']} (base {server.suffix}; bind as "
        f"{server.root_dn} / {server.root_pw}); its data stays in {var_dir / 'slapd'}. "
        f"Try: ldapsearch -x -H {server.settings['LDAP_URL']} -D '{server.root_dn}' "
        f"-w {server.root_pw} -b {server.suffix} '(objectClass=exgDistributionGroup)'"
    )


# Each starter adds its processes, settings and notes; they run in this order.
def start_mail_server(var_dir: Path, platform: LocalPlatform) -> None:
    from controlpanel import embedded_postfix  # Postfix + Dovecot + the policy service

    embedded_postfix.start_for_run(var_dir, platform)


STARTERS = [start_directory, start_mail_server]


def start(var_dir: Path) -> LocalPlatform:
    platform = LocalPlatform()
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        for starter in STARTERS:
            starter(var_dir, platform)
    except Exception:
        stop(platform)
        raise
    return platform


def stop(platform: LocalPlatform) -> None:
    for _name, process in reversed(platform.processes):
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
