# The sandbox clock's state, moved from core (core 0004): state only, the table `core_clockstate` stays.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_clock_state'),
        ('sandbox', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='ClockState',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                            verbose_name='ID')),
                    ('offset_seconds', models.FloatField(default=0.0)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('updated_by', models.CharField(blank=True, default='', max_length=150)),
                ],
                options={'db_table': 'core_clockstate'},
            ),
        ]),
    ]
