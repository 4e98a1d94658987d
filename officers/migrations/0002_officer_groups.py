"""The officer groups (officer, inspector, supervisor, risk analyst, maintenance admin, trainer)
with their permissions. The same idempotent sync runs after every migrate (post_migrate) and as
`manage.py officers_sync_groups`, so permissions of models added later join their groups."""

from django.db import migrations


def create_groups(apps, schema_editor):
    from officers.groups import groups_sync

    groups_sync(apps=apps, using=schema_editor.connection.alias, create_missing_permissions=True)


def remove_groups(apps, schema_editor):
    from officers.groups import GROUP_PERMISSIONS, MAINTENANCE_ADMIN

    # "maintenance admin" belongs to the maintenance app's own migration: leave it.
    names = [name for name in GROUP_PERMISSIONS if name != MAINTENANCE_ADMIN]
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("officers", "0001_initial"),
        ("declarations", "0001_initial"),
        ("risk", "0001_initial"),
        ("maintenance", "0002_maintenance_admin_group_and_no_overlap"),
        ("notifications", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
