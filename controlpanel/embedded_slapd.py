"""A private OpenLDAP server (Debian's slapd) for the tests and the local directory run:
its own cn=config with the project's schema (deploy/ldap/exchange-panel.ldif), the base
entry, a free port, a folder of its own. Built on python-ldap's slapdtest.SlapdObject.

    python -m controlpanel.embedded_slapd var/slapd   # runs until stopped, prints settings
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from slapdtest import SlapdObject

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "deploy" / "ldap" / "exchange-panel.ldif"
ACCESS = ROOT / "deploy" / "ldap" / "access.ldif"
BASE_DN = "dc=exchange,dc=local"
# The bind DN and password that address books (mail clients) use: hidden entries are
# invisible to it (deploy/ldap/access.ldif). A local run's and the tests' value only.
ADDRESS_BOOK_RDN = "cn=address-book"
ADDRESS_BOOK_PASSWORD = "carnet-2026"


def access_rules(base_dn: str) -> str:
    """The olcAccess lines of deploy/ldap/access.ldif, for this base DN."""
    lines = [ln for ln in ACCESS.read_text().splitlines() if ln.startswith("olcAccess:")]
    return "\n".join(lines).replace(BASE_DN, base_dn) + "\n"


INSTALL_HINT = "slapd is not installed: as root, `apt-get install slapd ldap-utils`."


def available() -> bool:
    return bool(shutil.which("slapd") or Path("/usr/sbin/slapd").exists())


class EmbeddedSlapd(SlapdObject):
    """slapd in `folder` (a new temp folder by default). With `keep=True` the data
    survives a stop and is used again at the next start (the local run); otherwise the
    folder is removed at stop (tests)."""

    openldap_schema_files = (
        "core.ldif", "cosine.ldif", "inetorgperson.ldif", "misc.ldif", str(SCHEMA),
    )  # fmt: skip
    root_cn = "admin"

    def __init__(self, folder: Path | None = None, base_dn: str = BASE_DN, keep: bool = False):
        self.suffix = base_dn
        self.root_pw = "admin-" + os.urandom(8).hex()
        self.keep = keep
        self._own_tmp = folder is None
        self.TMPDIR = str(folder.resolve().parent if folder else tempfile.mkdtemp(prefix="slapd-"))
        super().__init__()
        if folder is not None:
            self.testrundir = str(folder.resolve())
            self._slapd_conf = os.path.join(self.testrundir, "slapd.d")
            self._db_directory = os.path.join(self.testrundir, "openldap-data")
            if self.ldapi_uri:
                from urllib.parse import quote_plus

                self.ldapi_uri = "ldapi://" + quote_plus(os.path.join(self.testrundir, "ldapi"))
                self.default_ldap_uri = self.ldapi_uri

    def start(self):
        if self._proc is not None:
            return
        reuse = self.keep and os.path.exists(os.path.join(self._db_directory, "data.mdb"))
        if reuse:
            # Keep the data; write the configuration again (the port and password changed).
            shutil.rmtree(self._slapd_conf, ignore_errors=True)
            os.mkdir(self._slapd_conf)
        else:
            self._cleanup_rundir()
            os.makedirs(self.testrundir, exist_ok=True)
            os.mkdir(self._db_directory)
            self._create_sub_dirs(self.testrunsubdirs)
        self._write_config()
        self._test_config()
        self._start_slapd()
        if not reuse:
            self.add_base_entry()

    def gen_config(self):
        # The rules an operator installs (deploy/ldap/access.ldif), on the database's entry,
        # which ends the configuration.
        return super().gen_config() + access_rules(self.suffix)

    def add_base_entry(self):
        dc = self.suffix.split(",")[0].split("=", 1)[1]
        self.ldapadd(
            f"dn: {self.suffix}\nobjectClass: dcObject\nobjectClass: organization\n"
            f"dc: {dc}\no: Exchange panel\n\n"
            f"dn: {self.address_book_dn}\nobjectClass: organizationalRole\n"
            f"objectClass: simpleSecurityObject\ncn: address-book\n"
            f"userPassword: {ADDRESS_BOOK_PASSWORD}\n"
            "description: address books bind as this entry; hidden entries are not shown\n"
        )

    @property
    def address_book_dn(self) -> str:
        return f"{ADDRESS_BOOK_RDN},{self.suffix}"

    def stop(self):
        if self._proc is not None:
            self._proc.terminate()
            self.wait()
        if not self.keep:
            self._cleanup_rundir()
            if self._own_tmp:
                shutil.rmtree(self.TMPDIR, ignore_errors=True)

    @property
    def settings(self) -> dict[str, str]:
        """The environment that points the panel at this server."""
        return {
            "LDAP_URL": self.ldap_uri.rstrip("/"),
            "LDAP_BIND_DN": self.root_dn,
            "LDAP_BIND_PASSWORD": self.root_pw,
            "LDAP_BASE_DN": self.suffix,
        }


def main(argv: list[str]) -> int:
    import signal

    server = EmbeddedSlapd(Path(argv[1]) if len(argv) > 1 else None, keep=len(argv) > 1)
    server.start()
    for name, value in server.settings.items():
        print(f"{name}={value}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop() or sys.exit(0))
    try:
        server._proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
