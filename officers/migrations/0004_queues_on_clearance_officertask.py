# The work queues are proxies of the officer task, which moved from `risk` to `clearance` (issue
# 19): the proxies are re-declared on `clearance.OfficerTask`. Proxies have no table, so this is
# state only in effect (Django runs no SQL for a proxy); their content types and permissions stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('officers', '0003_override_findings_permission'),
        ('clearance', '0001_initial'),
    ]

    operations = [
        migrations.DeleteModel(name='AssignedToMeQueue'),
        migrations.DeleteModel(name='DocumentaryCheckQueue'),
        migrations.DeleteModel(name='EscalatedQueue'),
        migrations.DeleteModel(name='InspectionQueue'),
        migrations.DeleteModel(name='QueriedQueue'),
        migrations.CreateModel(
            name='AssignedToMeQueue',
            fields=[
            ],
            options={
                'verbose_name': 'assigned to me',
                'verbose_name_plural': 'assigned to me',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('clearance.officertask',),
        ),
        migrations.CreateModel(
            name='DocumentaryCheckQueue',
            fields=[
            ],
            options={
                'verbose_name': 'awaiting documentary check',
                'verbose_name_plural': 'awaiting documentary check',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('clearance.officertask',),
        ),
        migrations.CreateModel(
            name='EscalatedQueue',
            fields=[
            ],
            options={
                'verbose_name': 'escalated',
                'verbose_name_plural': 'escalated',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('clearance.officertask',),
        ),
        migrations.CreateModel(
            name='InspectionQueue',
            fields=[
            ],
            options={
                'verbose_name': 'awaiting inspection',
                'verbose_name_plural': 'awaiting inspection',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('clearance.officertask',),
        ),
        migrations.CreateModel(
            name='QueriedQueue',
            fields=[
            ],
            options={
                'verbose_name': 'queried (waiting for the agent)',
                'verbose_name_plural': 'queried (waiting for the agent)',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('clearance.officertask',),
        ),
    ]
