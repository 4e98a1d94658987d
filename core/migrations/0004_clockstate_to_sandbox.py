# The sandbox clock's state moved to the sandbox app (sandbox 0002): state only, the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_clock_state'),
        ('sandbox', '0002_clockstate_from_core'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='ClockState')]),
    ]
