"""Creates the table of every database cache in settings.CACHES; a no-op for other caches and existing tables."""

from django.core.management import call_command


def ensure_cache_tables(database: str) -> None:
    # createcachetable skips caches that are not database caches and tables that already exist.
    call_command("createcachetable", database=database, verbosity=0)


def ensure_cache_tables_after_migrate(*, using: str = "default", **kwargs) -> None:
    ensure_cache_tables(using)
