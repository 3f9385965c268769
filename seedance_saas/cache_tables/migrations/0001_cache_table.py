"""Creates the database cache's table (settings.CACHES) on `migrate`: no separate createcachetable step."""

from django.db import migrations


def create_cache_tables(apps, schema_editor):
    from seedance_saas.cache_tables.tables import ensure_cache_tables

    ensure_cache_tables(schema_editor.connection.alias)


class Migration(migrations.Migration):
    # createcachetable opens its own transaction per table.
    atomic = False

    dependencies = []

    operations = [
        # Not reversed: the table holds only cached values, and dropping it would break a running app.
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop, elidable=False),
    ]
