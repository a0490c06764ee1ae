"""The API over HTTP against the live server: a script's whole path with a real worker,
and schemathesis fuzzing every operation with a token."""

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from exchange_groups.models import ApiToken, Group

from .conftest import IN_CI, wait_for

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Http:
    """What a customer's script does: plain HTTP with a bearer token."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def __call__(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method.upper(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_done(self, task, timeout=40):
        def done():
            status, body = self("get", f"/task/{task['id']}")
            assert status == 200 and body["status"] in ("todo", "doing", "done"), body
            return body if body["status"] == "done" else None

        return wait_for(done, timeout, f"task {task} done", 0.2)


def test_a_script_manages_a_group_end_to_end(live_server, worker, customer, service, accounts):
    worker.start(PROVISIONING_DELAY="0.2")
    token = ApiToken.issue(customer, "script")[1]
    api = Http(f"{live_server.url}/api/1.0/email/exchange/{service.organization_name}"
               f"/service/{service.name}", token)  # fmt: skip

    status, task = api("post", "/mailingList", {"mailingListAddress": "script@example.fr",
                                                "displayName": "Created by a script"})  # fmt: skip
    assert status == 201 and task["function"] == "addDistributionGroup"
    # Members can be added once the group exists on the platform (as with OVHcloud).
    status, early = api(
        "post", "/mailingList/script@example.fr/member/account", {"memberAccountId": accounts[0].pk}
    )
    assert status == 409 and early["class"] == "Client::Conflict"
    api.wait_done(task)
    for account in accounts[:3]:
        status, member_task = api(
            "post", "/mailingList/script@example.fr/member/account",
            {"memberAccountId": account.pk},
        )  # fmt: skip
        assert status == 201
    api.wait_done(member_task)
    status, group = api("get", "/mailingList/script@example.fr")
    assert (
        status == 200 and group["state"] == "ok" and group["displayName"] == "Created by a script"
    )
    status, members = api("get", "/mailingList/script@example.fr/member/account")
    assert sorted(members) == sorted(a.pk for a in accounts[:3])

    status, task = api("put", "/mailingList/script@example.fr", {"maxSendSize": 20})
    assert status == 201 and task["function"] == "setDistributionGroup"
    api.wait_done(task)
    assert api("get", "/mailingList/script@example.fr")[1]["maxSendSize"] == 20

    status, task = api("delete", "/mailingList/script@example.fr")
    assert status == 201 and task["function"] == "deleteDistributionGroup"
    api.wait_done(task)
    assert api("get", "/mailingList/script@example.fr")[0] == 404
    assert not Group.objects.exists()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_server, customer, service, accounts, contacts, settings, tmp_path
):
    settings.API_RATE_LIMIT = "100000/min"
    token = ApiToken.issue(customer, "fuzz")[1]
    from exchange_groups import services

    group = services.create_group(
        service, user=customer, local_part="fuzz", domain=service.domains.get()
    )
    Group.objects.filter(pk=group.pk).update(state="ok")
    # Real identifiers, so that the fuzzing reaches the code behind the 404s.
    (tmp_path / "schemathesis.toml").write_text(
        "[parameters]\n"
        f'"path.organizationName" = "{service.organization_name}"\n'
        f'"path.exchangeService" = "{service.name}"\n'
        '"path.mailingListAddress" = "fuzz@example.fr"\n'
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run",
            f"{live_server.url}/api/1.0/schema/?format=json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,response_schema_conformance",
            # Every phase in CI; on a developer's machine a short run of each operation.
            "--max-examples", "12" if IN_CI else "2",
            "--phases", "examples,coverage,fuzzing" if IN_CI else "examples,fuzzing",
            "--seed", "1",
            "--request-timeout", "20",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    (ROOT / "test-output").mkdir(exist_ok=True)
    (ROOT / "test-output" / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
