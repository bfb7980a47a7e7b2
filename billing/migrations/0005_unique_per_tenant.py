"""Unique constraints include the tenant (``core.distribution``)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_run_sent_at_dropped'),
        ('crm', '0008_customer_iban'),
        ('finance', '0013_unique_per_tenant'),
        ('obligations', '0001_initial'),
        ('payments', '0017_unique_per_tenant'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='collectionattempt',
            name='collectionattempt_once',
        ),
        migrations.RemoveConstraint(
            model_name='collectionattempt',
            name='collectionattempt_instalment_once',
        ),
        migrations.RemoveConstraint(
            model_name='schedulerun',
            name='schedulerun_once_per_period',
        ),
        migrations.AddConstraint(
            model_name='collectionattempt',
            constraint=models.UniqueConstraint(models.F('run'), models.F('number'), models.F('tenant'), condition=models.Q(('run__isnull', False)), name='collectionattempt_once'),
        ),
        migrations.AddConstraint(
            model_name='collectionattempt',
            constraint=models.UniqueConstraint(models.F('instalment'), models.F('number'), models.F('tenant'), condition=models.Q(('instalment__isnull', False)), name='collectionattempt_instalment_once'),
        ),
        migrations.AddConstraint(
            model_name='schedulerun',
            constraint=models.UniqueConstraint(models.F('schedule'), models.F('period'), models.F('tenant'), name='schedulerun_once_per_period'),
        ),
    ]
