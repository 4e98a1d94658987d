# The webhook dispatcher (issue 17): per-firm turns for round-robin claims, and the lease of an
# attempt in flight. Pending deliveries of the old per-delivery tasks need nothing: the sweeper wakes
# the dispatcher for them.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0005_webhooks_moved_from_risk'),
        ('traders', '0002_audit_chain'),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookDispatchTurn',
            fields=[
                ('agent', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='traders.clearingagent')),
                ('last_served_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='in_flight_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(condition=models.Q(('in_flight_until__isnull', False)), fields=['in_flight_until'], name='webhook_delivery_in_flight'),
        ),
    ]
