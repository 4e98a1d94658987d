# The webhook models moved to the `notifications` app (issue 19). State only: the tables keep
# their names (the models set db_table) and their rows, constraints, indexes and append-only
# trigger; notifications 0005 takes the models over in its state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0005_gate_events_agent_queries_sla_pause'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='WebhookDelivery'),
                migrations.DeleteModel(name='WebhookSubscriptionEvent'),
                migrations.DeleteModel(name='WebhookSubscription'),
            ],
            database_operations=[],
        ),
    ]
