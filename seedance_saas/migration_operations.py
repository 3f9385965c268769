"""Index operations that run CONCURRENTLY on PostgreSQL (no write lock on a live table) and plainly elsewhere.

A migration that uses them must set `atomic = False`: PostgreSQL cannot build an index concurrently in a transaction.
Their state changes are those of AddIndex / RemoveIndex, so `makemigrations` sees nothing new.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


def _on_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_forwards(app_label, schema_editor, from_state, to_state)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_backwards(app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgres(migrations.RemoveIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            concurrent = RemoveIndexConcurrently(self.model_name, self.name)
            return concurrent.database_forwards(app_label, schema_editor, from_state, to_state)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgresql(schema_editor):
            concurrent = RemoveIndexConcurrently(self.model_name, self.name)
            return concurrent.database_backwards(app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)
