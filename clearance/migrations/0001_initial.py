# The clearance workflow models move from `risk` to the new `clearance` app (issue 19) without
# moving data: the state takes them over under their old table names (Meta.db_table), created by
# risk 0001/0002/0005/0007 with their rows, constraints, indexes, the many-to-many table of the
# queries' documents and the append-only trigger of the case events; risk 0008 drops them from
# risk's state (after officers 0004 re-points its queue proxies). Content types (so admin
# permissions, officer groups and log entries) follow.

import datetime
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

MODELS = ('officertask', 'agentquery', 'releaseorder', 'gateevent', 'postclearanceaudit', 'provisionalreleasecase',
          'provisionalreleasecaseevent')


def _content_types(old: str, new: str):
    def move(apps, schema_editor):
        content_type = apps.get_model('contenttypes', 'ContentType')
        db = schema_editor.connection.alias
        for model in MODELS:
            # A content type already made for the new label (a post_migrate run in between) gives way.
            if content_type.objects.using(db).filter(app_label=old, model=model).exists():
                content_type.objects.using(db).filter(app_label=new, model=model).delete()
            content_type.objects.using(db).filter(app_label=old, model=model).update(app_label=new)
    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('risk', '0007_provisional_release_cases'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('declarations', '0011_deadline_shift_and_event_kinds'),
        ('manifests', '0003_terminals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OfficerTask',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('queue', models.CharField(choices=[('documentary_check', 'Documentary check'), ('inspection', 'Physical inspection')], max_length=24)),
                        ('status', models.CharField(choices=[('open', 'Open (unassigned)'), ('assigned', 'Assigned'), ('done', 'Done')], default='open', max_length=12)),
                        ('lane', models.CharField(choices=[('green', 'Green'), ('blue', 'Blue'), ('yellow', 'Yellow'), ('red', 'Red')], max_length=8)),
                        ('priority', models.BooleanField(default=False, help_text='AEO priority: handle first.')),
                        ('assigned_at', models.DateTimeField(blank=True, null=True)),
                        ('escalated_at', models.DateTimeField(blank=True, null=True)),
                        ('inspection_requested_at', models.DateTimeField(blank=True, null=True)),
                        ('findings', models.TextField(blank=True)),
                        ('outcome', models.CharField(blank=True, max_length=32)),
                        ('created_at', models.DateTimeField()),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                        ('waiting_since', models.DateTimeField(blank=True, null=True)),
                        ('sla_paused', models.DurationField(default=datetime.timedelta(0))),
                        ('assigned_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('declaration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='officer_tasks', to='declarations.declaration')),
                    ],
                    options={
                        'db_table': 'risk_officertask',
                        'ordering': ['-priority', 'created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='AgentQuery',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('documents_required', models.JSONField(default=list)),
                        ('reason', models.TextField(blank=True)),
                        ('asked_at', models.DateTimeField()),
                        ('answer_message', models.TextField(blank=True)),
                        ('answered_at', models.DateTimeField(blank=True, null=True)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('answer_documents', models.ManyToManyField(blank=True, related_name='+', to='declarations.declarationdocument')),
                        ('answered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('asked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('declaration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='queries', to='declarations.declaration')),
                        ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='queries', to='clearance.officertask')),
                    ],
                    options={
                        'verbose_name_plural': 'agent queries',
                        'db_table': 'risk_agentquery',
                        'ordering': ['declaration', 'asked_at'],
                    },
                ),
                migrations.CreateModel(
                    name='PostClearanceAudit',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('closed', 'Closed')], default='pending', max_length=12)),
                        ('reason', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField()),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('declaration', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='post_clearance_audit', to='declarations.declaration')),
                    ],
                    options={
                        'db_table': 'risk_postclearanceaudit',
                        'ordering': ['created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='ProvisionalReleaseCase',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('release_id', models.UUIDField(unique=True)),
                        ('submission_id', models.UUIDField()),
                        ('entry_number', models.CharField(blank=True, max_length=16)),
                        ('trader_pin', models.CharField(max_length=11)),
                        ('agent_username', models.CharField(blank=True, max_length=150)),
                        ('rule', models.CharField(max_length=40)),
                        ('released_at', models.DateTimeField(help_text='When the provisional release was issued.')),
                        ('expires_at', models.DateTimeField()),
                        ('differences', models.JSONField(default=list, help_text='[{code, detail}] found by the full processing.')),
                        ('summary', models.TextField(help_text='The difference, in words.')),
                        ('status', models.CharField(choices=[('open', 'Open'), ('closed', 'Closed')], default='open', max_length=8)),
                        ('created_at', models.DateTimeField()),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('outcome', models.TextField(blank=True, help_text='What the officer found and did.')),
                        ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('declaration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='provisional_release_cases', to='declarations.declaration')),
                    ],
                    options={
                        'verbose_name': 'provisional release to reconcile',
                        'verbose_name_plural': 'Provisional releases to reconcile',
                        'db_table': 'risk_provisionalreleasecase',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ProvisionalReleaseCaseEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('prev_hash', models.CharField(default='', editable=False, max_length=64)),
                        ('hash', models.CharField(default='', editable=False, max_length=64)),
                        ('from_status', models.CharField(blank=True, max_length=8)),
                        ('to_status', models.CharField(max_length=8)),
                        ('reason', models.TextField(blank=True)),
                        ('payload', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField()),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='clearance.provisionalreleasecase')),
                    ],
                    options={
                        'db_table': 'risk_provisionalreleasecaseevent',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='ReleaseOrder',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('number', models.CharField(max_length=32, unique=True)),
                        ('lane', models.CharField(choices=[('green', 'Green'), ('blue', 'Blue'), ('yellow', 'Yellow'), ('red', 'Red')], max_length=8)),
                        ('issued_at', models.DateTimeField()),
                        ('automatic', models.BooleanField(default=False)),
                        ('message_json', models.JSONField(default=dict)),
                        ('message_edifact', models.TextField()),
                        ('gate_out_at', models.DateTimeField(blank=True, null=True)),
                        ('declaration', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='release_order', to='declarations.declaration')),
                        ('issued_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'risk_releaseorder',
                        'ordering': ['-issued_at'],
                    },
                ),
                migrations.CreateModel(
                    name='GateEvent',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('gate_out', 'Gate out (import)'), ('loaded_on_board', 'Loaded on board (export)')], max_length=16)),
                        ('container', models.CharField(blank=True, help_text='As reported by the terminal, if any', max_length=11)),
                        ('occurred_at', models.DateTimeField(help_text='When the goods passed the gate / were loaded')),
                        ('created_at', models.DateTimeField()),
                        ('declaration', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='gate_events', to='declarations.declaration')),
                        ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('terminal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='gate_events', to='manifests.terminal')),
                    ],
                    options={
                        'db_table': 'risk_gateevent',
                        'ordering': ['-occurred_at'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['gate_out', 'loaded_on_board'])), name='gate_event_kind_valid'), models.UniqueConstraint(fields=('declaration', 'kind'), name='gate_event_one_per_kind')],
                    },
                ),
                migrations.AddIndex(
                    model_name='officertask',
                    index=models.Index(fields=['status', 'created_at'], name='officer_task_status_created'),
                ),
                migrations.AddIndex(
                    model_name='officertask',
                    index=models.Index(condition=models.Q(('status__in', ['open', 'assigned'])), fields=['-priority', 'created_at', '-id'], name='officer_task_live_queue'),
                ),
                migrations.AddConstraint(
                    model_name='officertask',
                    constraint=models.CheckConstraint(condition=models.Q(('queue__in', ['documentary_check', 'inspection'])), name='officer_task_queue_valid'),
                ),
                migrations.AddConstraint(
                    model_name='officertask',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'assigned', 'done'])), name='officer_task_status_valid'),
                ),
                migrations.AddConstraint(
                    model_name='officertask',
                    constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['open', 'assigned'])), fields=('declaration',), name='officer_task_one_live_per_declaration'),
                ),
                migrations.AddConstraint(
                    model_name='agentquery',
                    constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('declaration',), name='agent_query_one_open'),
                ),
                migrations.AddConstraint(
                    model_name='postclearanceaudit',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'closed'])), name='pca_status_valid'),
                ),
                migrations.AddIndex(
                    model_name='provisionalreleasecase',
                    index=models.Index(fields=['status', 'created_at'], name='prov_case_status_created'),
                ),
                migrations.AddConstraint(
                    model_name='provisionalreleasecase',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'closed'])), name='prov_case_status_valid'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types('risk', 'clearance'), _content_types('clearance', 'risk')),
    ]
