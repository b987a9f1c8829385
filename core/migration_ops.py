"""Migration operations that behave well on both databases."""

from django.db.migrations.operations import AddIndex, RunSQL


class AddIndexConcurrentlyWherePossible(AddIndex):
    """`AddIndexConcurrently` on PostgreSQL (no write lock on a big table), a plain `AddIndex` elsewhere.

    Django's own AddIndexConcurrently fails on SQLite (`unexpected keyword argument 'concurrently'`). Use it in a
    migration with `atomic = False`.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.add_index(model, self.index, concurrently=True)
            else:
                schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(model, self.index, concurrently=True)
            else:
                schema_editor.remove_index(model, self.index)


class RunSQLOnPostgres(RunSQL):
    """SQL that only means something on PostgreSQL (operator classes, extensions); a no-op elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
