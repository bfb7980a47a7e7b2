"""Unique constraints include the tenant (``core.distribution``)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0008_customer_iban'),
        ('finance', '0013_unique_per_tenant'),
        ('gateways', '0008_unique_per_tenant'),
        ('obligations', '0001_initial'),
        ('paylinks', '0002_bank_matching_indexes'),
        ('payments', '0016_booking_function'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='gatewaypayment',
            name='gatewaypayment_provider_reference_unique',
        ),
        migrations.AlterField(
            model_name='gatewayrefund',
            name='idempotency_key',
            field=models.CharField(max_length=60),
        ),
        migrations.AddConstraint(
            model_name='gatewaypayment',
            constraint=models.UniqueConstraint(models.F('provider'), models.F('provider_reference'), models.F('tenant'), condition=models.Q(('provider_reference', ''), _negated=True), name='gatewaypayment_provider_reference_unique'),
        ),
        migrations.AddConstraint(
            model_name='gatewayrefund',
            constraint=models.UniqueConstraint(models.F('idempotency_key'), models.F('tenant'), name='gatewayrefund_idempotency_key_unique'),
        ),
    ]
