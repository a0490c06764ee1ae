"""Trigram indexes for the groups list's search (views/groups.py, search_groups): "contains"
on a group's local part or name is answered from an index instead of testing every group
of the service. PostgreSQL only (pg_trgm is a trusted extension: the database's owner may
create it); on SQLite the search reads the groups, as before."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("exchange_groups", "0008_group_list_index")]

    operations = [
        TrigramExtension(),
        # The expressions are those of Django's icontains on PostgreSQL: UPPER(col::text).
        PostgresOnlySQL(
            "CREATE INDEX group_local_part_trgm ON exchange_groups_address "
            "USING gin (UPPER(local_part::text) gin_trgm_ops) WHERE kind = 'group'",
            "DROP INDEX group_local_part_trgm",
        ),
        PostgresOnlySQL(
            "CREATE INDEX group_display_name_trgm ON exchange_groups_group "
            "USING gin (UPPER(display_name::text) gin_trgm_ops)",
            "DROP INDEX group_display_name_trgm",
        ),
    ]
