"""The files in deploy/ an operator copies: they parse, they start, and every process stops within 10 s."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stack import ROOT, free_port, wait_for_port

DEPLOY = ROOT / "deploy"
STOP_GRACE_S = 10


def procfile() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_runs_web_two_kinds_of_worker_and_a_release_step():
    entries = procfile()
    assert set(entries) >= {"release", "web", "worker", "webhooks"}
    assert entries["web"].startswith("gunicorn -c deploy/gunicorn.conf.py ")
    assert entries["worker"] == "python manage.py qcluster"
    assert entries["webhooks"] == "Q_CLUSTER_NAME=webhooks python manage.py qcluster"
    assert [step.split()[2] for step in entries["release"].split(" && ")] == ["migrate", "collectstatic", "stripe_sync"]


def gunicorn_settings(**env: str) -> dict:
    namespace: dict = {}
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return namespace


def test_gunicorn_config_takes_workers_from_the_environment_and_drains_within_the_stop_grace():
    settings = gunicorn_settings(WEB_CONCURRENCY="5")
    assert settings["workers"] == 5
    assert settings["graceful_timeout"] < STOP_GRACE_S
    assert "%(U)s" in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]  # no query
    assert "logger_class" in (DEPLOY / "gunicorn.conf.py").read_text()  # the hook for the secret-masking logger


@pytest.mark.parametrize("unit", ["seedance-web.service", "seedance-worker@.service", "seedance-webhooks.service"])
def test_systemd_units_stop_the_main_process_first_within_a_grace(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["KillMode"] == "mixed"  # SIGTERM to the main process; workers finish their task
    assert int(service["TimeoutStopSec"]) <= 15
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith(("gunicorn", "python"))
    if unit == "seedance-webhooks.service":
        assert "Environment=Q_CLUSTER_NAME=webhooks" in (DEPLOY / "systemd" / unit).read_text()


def test_gunicorn_from_the_procfile_serves_and_stops_within_10_s_of_sigterm(tmp_path):
    port = free_port()
    command = re.sub(r"^gunicorn", f"{sys.executable} -m gunicorn", procfile()["web"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "seedance_saas.settings",
    }
    process = subprocess.Popen(shlex.split(command), cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_for_port(port, process=process)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_GRACE_S + 5)
        assert time.monotonic() - started < STOP_GRACE_S
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_deploy_files_exist_where_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    for path in ("deploy/gunicorn.conf.py", "deploy/Procfile", "deploy/systemd/seedance-worker@.service"):
        assert (ROOT / path).exists()
        assert path in deploying


Path  # noqa: B018 - keep the import for type readers
