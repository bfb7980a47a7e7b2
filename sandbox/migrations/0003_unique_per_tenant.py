"""Unique constraints include the tenant (``core.distribution``)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0008_customer_iban'),
        ('gateways', '0008_unique_per_tenant'),
        ('sandbox', '0002_saved_cards'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='sandboxcheckout',
            name='sandboxcheckout_client_token_unique',
        ),
        migrations.AddConstraint(
            model_name='sandboxcheckout',
            constraint=models.UniqueConstraint(models.F('client_token'), models.F('tenant'), condition=models.Q(('client_token', ''), _negated=True), name='sandboxcheckout_client_token_unique'),
        ),
    ]
