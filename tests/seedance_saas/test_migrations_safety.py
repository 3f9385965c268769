"""Migrations are safe on a live database: concurrent index builds, no rollback that drops another app's tables."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS_RATES = ("accounts", "0003_organization_api_rates")

TABLES = """
from django.db import connection
emit = sorted(name for name in connection.introspection.table_names() if name.startswith(("webhooks_", "billing_")))
print("@@", " ".join(emit))
"""


def test_only_accounts_migrations_depend_on_the_organization_api_rates_migration():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    unapplied_with_it = graph.backwards_plan(ACCOUNTS_RATES)  # itself and everything that depends on it
    assert {app for app, _ in unapplied_with_it} == {"accounts"}, unapplied_with_it


def manage(database_url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "REDIS_URL")}
    env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_unapplying_accounts_to_0002_keeps_the_webhook_and_billing_tables(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    manage(database_url, "migrate", "--noinput")
    tables_before = manage(database_url, "shell", "-c", TABLES).split("@@")[-1].split()
    assert "webhooks_webhookendpoint" in tables_before and "billing_billingauditentry" in tables_before

    manage(database_url, "migrate", "accounts", "0002", "--noinput")
    tables_after = manage(database_url, "shell", "-c", TABLES).split("@@")[-1].split()
    assert tables_after == tables_before
    assert "[ ] 0003_organization_api_rates" in manage(database_url, "showmigrations", "accounts")

    manage(database_url, "migrate", "--noinput")  # and forward again
    assert "[X] 0003_organization_api_rates" in manage(database_url, "showmigrations", "accounts")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # sqlmigrate refuses a concurrent build inside the test's transaction
def test_the_drain_index_is_built_and_dropped_concurrently_on_postgresql():
    out = StringIO()
    call_command("sqlmigrate", "billing", "0003", stdout=out)
    sql = out.getvalue()
    assert 'CREATE INDEX CONCURRENTLY "billing_usa_report__b8a720_idx"' in sql
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "billing_usa_report__274beb_idx"' in sql
    assert "BEGIN" not in sql  # a concurrent build cannot run inside a transaction
