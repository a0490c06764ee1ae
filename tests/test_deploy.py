"""What an operator deploying the product relies on."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, tmp_path, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "VAR_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(DJANGO_SETTINGS_MODULE="controlpanel.settings", VAR_DIR=str(tmp_path))
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_debug_defaults_off_and_a_secret_key_is_generated_once(tmp_path):
    code = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)"
    first = manage("shell", "-v", "0", "-c", code, tmp_path=tmp_path)
    second = manage("shell", "-v", "0", "-c", code, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    debug, key = first.stdout.split()
    assert debug == "False" and len(key) >= 50
    assert second.stdout == first.stdout  # web, worker and beat share it
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.ALLOWED_HOSTS, "
        "s.PROVISIONING_OPTIONS['delay'], s.PROVISIONING_OPTIONS['failure_rate'], s.DEBUG)"
    )
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        code,
        tmp_path=tmp_path,
        DATABASE_URL="postgres://u:p@db.internal:5432/panel",
        REDIS_URL="redis://cache.internal:6379/2",
        ALLOWED_HOSTS="panel.example.com",
        PROVISIONING_DELAY="1.5",
        PROVISIONING_FAILURE_RATE="0.1",
        DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/2",
        "['panel.example.com']",
        "1.5",
        "0.1",
        "True",
    ]
