# The clearance workflow models moved to the `clearance` app (issue 19). State only: the tables
# keep their names (the models set db_table) and their rows, constraints, indexes and append-only
# trigger; clearance 0001 takes the models over in its state, officers 0004 re-points its proxies.

from django.db import migrations

MODELS = ('officertask', 'agentquery', 'releaseorder', 'gateevent', 'postclearanceaudit', 'provisionalreleasecase',
          'provisionalreleasecaseevent')


def _drop_duplicate_content_types(apps, schema_editor):
    """On a database migrated from zero, a permission sync that ran while both apps' states held
    the models (officers 0002) made `risk` content types besides the `clearance` ones that clearance
    0001 had already moved: drop those duplicates (no group holds their permissions). A database
    upgraded in place has none left here (clearance 0001 moved them); a lone one is moved."""
    content_type = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    for model in MODELS:
        old = content_type.objects.using(db).filter(app_label='risk', model=model)
        if content_type.objects.using(db).filter(app_label='clearance', model=model).exists():
            old.delete()
        else:
            old.update(app_label='clearance')


class Migration(migrations.Migration):

    dependencies = [
        ('clearance', '0001_initial'),
        ('officers', '0004_queues_on_clearance_officertask'),
        ('risk', '0007_provisional_release_cases'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='agentquery',
                    name='agent_query_one_open',
                ),
                migrations.RemoveConstraint(
                    model_name='gateevent',
                    name='gate_event_kind_valid',
                ),
                migrations.RemoveConstraint(
                    model_name='gateevent',
                    name='gate_event_one_per_kind',
                ),
                migrations.RemoveIndex(
                    model_name='officertask',
                    name='officer_task_status_created',
                ),
                migrations.RemoveIndex(
                    model_name='officertask',
                    name='officer_task_live_queue',
                ),
                migrations.RemoveConstraint(
                    model_name='officertask',
                    name='officer_task_queue_valid',
                ),
                migrations.RemoveConstraint(
                    model_name='officertask',
                    name='officer_task_status_valid',
                ),
                migrations.RemoveConstraint(
                    model_name='officertask',
                    name='officer_task_one_live_per_declaration',
                ),
                migrations.RemoveConstraint(
                    model_name='postclearanceaudit',
                    name='pca_status_valid',
                ),
                migrations.RemoveIndex(
                    model_name='provisionalreleasecase',
                    name='prov_case_status_created',
                ),
                migrations.RemoveConstraint(
                    model_name='provisionalreleasecase',
                    name='prov_case_status_valid',
                ),
                migrations.RemoveField(
                    model_name='releaseorder',
                    name='declaration',
                ),
                migrations.RemoveField(
                    model_name='releaseorder',
                    name='issued_by',
                ),
                migrations.RemoveField(
                    model_name='agentquery',
                    name='answer_documents',
                ),
                migrations.RemoveField(
                    model_name='agentquery',
                    name='answered_by',
                ),
                migrations.RemoveField(
                    model_name='agentquery',
                    name='asked_by',
                ),
                migrations.RemoveField(
                    model_name='agentquery',
                    name='declaration',
                ),
                migrations.RemoveField(
                    model_name='agentquery',
                    name='task',
                ),
                migrations.RemoveField(
                    model_name='gateevent',
                    name='declaration',
                ),
                migrations.RemoveField(
                    model_name='gateevent',
                    name='recorded_by',
                ),
                migrations.RemoveField(
                    model_name='gateevent',
                    name='terminal',
                ),
                migrations.RemoveField(
                    model_name='officertask',
                    name='assigned_to',
                ),
                migrations.RemoveField(
                    model_name='officertask',
                    name='declaration',
                ),
                migrations.RemoveField(
                    model_name='postclearanceaudit',
                    name='declaration',
                ),
                migrations.RemoveField(
                    model_name='provisionalreleasecase',
                    name='closed_by',
                ),
                migrations.RemoveField(
                    model_name='provisionalreleasecase',
                    name='declaration',
                ),
                migrations.DeleteModel(
                    name='ProvisionalReleaseCaseEvent',
                ),
                migrations.DeleteModel(
                    name='ReleaseOrder',
                ),
                migrations.DeleteModel(
                    name='AgentQuery',
                ),
                migrations.DeleteModel(
                    name='GateEvent',
                ),
                migrations.DeleteModel(
                    name='OfficerTask',
                ),
                migrations.DeleteModel(
                    name='PostClearanceAudit',
                ),
                migrations.DeleteModel(
                    name='ProvisionalReleaseCase',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_drop_duplicate_content_types, migrations.RunPython.noop),
    ]
