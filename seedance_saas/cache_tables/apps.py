"""Creates the database cache's table as part of `migrate`, so no deploy step can forget it."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CacheTablesConfig(AppConfig):
    name = "seedance_saas.cache_tables"
    label = "cache_tables"
    verbose_name = "Database cache tables"

    def ready(self) -> None:
        from seedance_saas.cache_tables.tables import ensure_cache_tables_after_migrate

        # The migration creates the table on the first `migrate`; this also covers a cache switched from
        # Redis to the database later, when that migration has long been applied.
        post_migrate.connect(ensure_cache_tables_after_migrate, sender=self)
