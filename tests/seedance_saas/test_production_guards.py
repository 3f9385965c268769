"""Production refuses to start on the simulator or a console mailbox unless told they are intended (issue 12, 2)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR_ROUTE = "/simulator/outputs/abc.mp4"
RESOLVES = f"from django.urls import resolve; resolve({SIMULATOR_ROUTE!r}); print('served')"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    cleared = (
        "SECRET_KEY",
        "DEBUG",
        "DJANGO_ENV",
        "PYTEST_VERSION",
        "EACHLABS_API_KEY",
        "EMAIL_BACKEND",
        "PROVIDER_KEY_ENCRYPTION_KEYS",
    )
    env = {k: v for k, v in os.environ.items() if k not in cleared and not k.endswith("_ALLOW_SIMULATOR")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production(**overrides) -> dict:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "p" + os.urandom(40).hex(),
        "ALLOWED_HOSTS": "studio.example.com",
        "SITE_URL": "https://studio.example.com",
        "PROVIDER_KEY_ENCRYPTION_KEYS": "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
        **overrides,
    }


def test_production_without_a_provider_key_refuses_to_start():
    result = manage("check", "--deploy", **production(EMAIL_BACKEND=SMTP))
    assert result.returncode != 0
    assert "EACHLABS_API_KEY is not set in production" in result.stderr
    assert "EACHLABS_ALLOW_SIMULATOR=1" in result.stderr


def test_production_without_a_provider_key_encryption_key_refuses_to_start():
    result = manage(
        "check", **production(EACHLABS_API_KEY="live-key", EMAIL_BACKEND=SMTP, PROVIDER_KEY_ENCRYPTION_KEYS="")
    )
    assert result.returncode != 0
    assert "PROVIDER_KEY_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_runs_the_simulator_only_when_allowed_and_then_serves_its_outputs():
    allowed = production(EMAIL_BACKEND=SMTP, EACHLABS_ALLOW_SIMULATOR="1")
    assert manage("check", "--deploy", "--fail-level", "WARNING", **allowed).returncode == 0
    served = manage("shell", "-c", RESOLVES, **allowed)
    assert served.returncode == 0 and "served" in served.stdout, served.stderr


def test_production_with_a_provider_key_does_not_serve_simulator_outputs():
    result = manage("shell", "-c", RESOLVES, **production(EMAIL_BACKEND=SMTP, EACHLABS_API_KEY="live-key"))
    assert result.returncode != 0 and "Resolver404" in result.stderr


def test_production_with_the_console_email_backend_refuses_to_start():
    result = manage("check", "--deploy", **production(EACHLABS_API_KEY="live-key"))
    assert result.returncode != 0
    assert "EMAIL_BACKEND is django.core.mail.backends.console.EmailBackend in production" in result.stderr
    assert "EMAIL_ALLOW_CONSOLE=1" in result.stderr


def test_production_with_a_locmem_mailbox_refuses_to_start_too():
    locmem = "django.core.mail.backends.locmem.EmailBackend"
    result = manage("check", **production(EACHLABS_API_KEY="live-key", EMAIL_BACKEND=locmem))
    assert result.returncode != 0 and "EMAIL_ALLOW_CONSOLE=1" in result.stderr


def test_production_accepts_the_console_mailbox_when_allowed():
    result = manage("check", "--deploy", **production(EACHLABS_API_KEY="live-key", EMAIL_ALLOW_CONSOLE="1"))
    assert result.returncode == 0, result.stderr


def test_development_defaults_still_start_on_the_simulator_and_console():
    result = manage("shell", "-c", RESOLVES)
    assert result.returncode == 0 and "served" in result.stdout, result.stderr
