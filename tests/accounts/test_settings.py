"""Settings refuse an unsafe production start, and a configured one passes `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_ENV", "PYTEST_VERSION")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_secret_key_refuses_to_start():
    result = manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_without_secret_key_refuses_to_start():
    result = manage("check", DEBUG="false")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_with_debug_on_refuses_to_start():
    result = manage("check", DJANGO_ENV="production", DEBUG="1", SECRET_KEY="p" + os.urandom(40).hex())
    assert result.returncode != 0
    assert "DEBUG must be off when DJANGO_ENV=production" in result.stderr


def test_a_provider_frame_link_shorter_than_a_job_refuses_to_start():
    result = manage("check", MEDIA_PROVIDER_URL_TTL_S="600", GENERATION_DEADLINE_S="1800")
    assert result.returncode != 0
    assert "MEDIA_PROVIDER_URL_TTL_S (600 s) must be longer than GENERATION_DEADLINE_S (1800 s)" in result.stderr


def test_webhook_media_links_shorter_than_the_retries_refuse_to_start():
    result = manage("check", MEDIA_WEBHOOK_URL_TTL_S="86400", WEBHOOKS_RETRY_SCHEDULE_S="5,300,86400")
    assert result.returncode != 0
    assert "MEDIA_WEBHOOK_URL_TTL_S (86400 s) must be longer than the whole WEBHOOKS_RETRY_SCHEDULE_S" in result.stderr


def test_configured_production_passes_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="p" + os.urandom(40).hex(),
        ALLOWED_HOSTS="studio.example.com",
        SITE_URL="https://studio.example.com",
        EACHLABS_API_KEY="live-provider-key",
        PROVIDER_KEY_ENCRYPTION_KEYS="Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
