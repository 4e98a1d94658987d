"""The "maintenance admin" group with the maintenance permissions, and on PostgreSQL an exclusion
constraint so that no two non-cancelled windows overlap even if two writers race (the service
also checks under a lock, which is all SQLite gets)."""

from django.db import migrations

GROUP = "maintenance admin"
PERMISSIONS = {
    "maintenancewindow": ("add", "change", "view"),
    "maintenancewindowevent": ("view",),
    "outage": ("add", "change", "view"),
    "outageevent": ("view",),
    "bufferedsubmission": ("view",),
    "outagereport": ("view",),
}

EXCLUSION_SQL = (
    "ALTER TABLE maintenance_maintenancewindow ADD CONSTRAINT maint_window_no_overlap "
    "EXCLUDE USING gist (tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status <> 'cancelled')"
)


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; create this app's now.
    app_config = apps.get_app_config("maintenance")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    codenames = [f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="maintenance", codename__in=codenames))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


def add_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXCLUSION_SQL)


def drop_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE maintenance_maintenancewindow DROP CONSTRAINT maint_window_no_overlap")


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_group, remove_group),
        migrations.RunPython(add_exclusion, drop_exclusion),
    ]
