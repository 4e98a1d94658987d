# The webhook models move from `risk` to `notifications` (issue 19) without moving data: the
# state takes them over under their old table names (db_table), created by risk 0001/0003; risk
# 0006 drops them from risk's state. Content types (so admin permissions and log entries) follow.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = ('webhooksubscription', 'webhookdelivery', 'webhooksubscriptionevent')


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

    dependencies = [
        ('notifications', '0004_notification_kinds_merged'),
        ('risk', '0006_webhooks_moved_to_notifications'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('traders', '0002_audit_chain'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='WebhookSubscription',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('url', models.URLField(max_length=500)),
                        ('secret', models.CharField(max_length=64)),
                        ('kinds', models.JSONField(blank=True, default=list, help_text='Notification kinds to push; empty = all.')),
                        ('description', models.CharField(blank=True, max_length=200)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('suspended', 'Suspended (circuit breaker)')], default='active', max_length=12)),
                        ('consecutive_failures', models.PositiveIntegerField(default=0)),
                        ('retry_not_before', models.DateTimeField(blank=True, null=True)),
                        ('suspended_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_subscriptions', to='traders.clearingagent')),
                    ],
                    options={
                        'db_table': 'risk_webhooksubscription',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('notification_id', models.CharField(max_length=64)),
                        ('kind', models.CharField(max_length=40)),
                        ('body', models.TextField(help_text='Exact JSON bytes sent (and signed).')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed (attempts exhausted)')], default='pending', max_length=12)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('attempts_log', models.JSONField(blank=True, default=list)),
                        ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='notifications.webhooksubscription')),
                    ],
                    options={
                        'db_table': 'risk_webhookdelivery',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookSubscriptionEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('prev_hash', models.CharField(default='', editable=False, max_length=64)),
                        ('hash', models.CharField(default='', editable=False, max_length=64)),
                        ('subscription_id', models.UUIDField(db_index=True)),
                        ('action', models.CharField(choices=[('created', 'Created'), ('suspended', 'Suspended'), ('enabled', 'Enabled'), ('deleted', 'Deleted')], max_length=12)),
                        ('from_status', models.CharField(blank=True, max_length=12)),
                        ('to_status', models.CharField(blank=True, max_length=12)),
                        ('reason', models.TextField(blank=True)),
                        ('payload', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField()),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='traders.clearingagent')),
                    ],
                    options={
                        'db_table': 'risk_webhooksubscriptionevent',
                        'ordering': ['subscription_id', 'created_at', 'id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='webhooksubscription',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['active', 'suspended'])), name='webhook_subscription_status_valid'),
                ),
                migrations.AddConstraint(
                    model_name='webhooksubscription',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'active'), ('suspended_at__isnull', True)), models.Q(('status', 'suspended'), ('suspended_at__isnull', False)), _connector='OR'), name='webhook_subscription_suspended_at'),
                ),
                migrations.AddIndex(
                    model_name='webhookdelivery',
                    index=models.Index(fields=['status', 'next_attempt_at'], name='webhook_delivery_due'),
                ),
                migrations.AddConstraint(
                    model_name='webhookdelivery',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'delivered', 'failed'])), name='webhook_delivery_status_valid'),
                ),
                migrations.AddConstraint(
                    model_name='webhookdelivery',
                    constraint=models.UniqueConstraint(fields=('subscription', 'notification_id'), name='webhook_delivery_unique'),
                ),
                migrations.AddConstraint(
                    model_name='webhooksubscriptionevent',
                    constraint=models.CheckConstraint(condition=models.Q(('action__in', ['created', 'suspended', 'enabled', 'deleted'])), name='webhook_subscription_event_action_valid'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types('risk', 'notifications'), _content_types('notifications', 'risk')),
    ]
