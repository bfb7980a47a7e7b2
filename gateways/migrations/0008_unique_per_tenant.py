"""Every webhook delivery has its tenant, and is unique per tenant (``core.distribution``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0008_customer_iban'),
        ('gateways', '0007_webhook_batches'),
    ]

    operations = [
        # Every delivery is stored with its account's tenant; one without could never be processed.
        migrations.RunSQL("DELETE FROM gateways_webhookdelivery WHERE tenant_id IS NULL", migrations.RunSQL.noop),
        migrations.RemoveConstraint(
            model_name='webhookdelivery',
            name='webhook_unique_event',
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.UniqueConstraint(models.F('provider'), models.F('event_id'), models.F('tenant'), name='webhook_unique_event'),
        ),
    ]
