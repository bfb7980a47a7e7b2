import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0001_initial'),
        ('finance', '0004_one_account_per_customer_and_currency'),
        ('payments', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Receipt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(max_length=20)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                ('currency', models.CharField(max_length=3)),
                ('provider', models.CharField(blank=True, max_length=20)),
                ('provider_reference', models.CharField(blank=True, max_length=200)),
                ('invoice_number', models.CharField(blank=True, max_length=20)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('payer_name', models.CharField(max_length=200)),
                ('payer_email', models.EmailField(blank=True, max_length=254)),
                ('issued_at', models.DateTimeField()),
                ('public_token_hash', models.CharField(max_length=64)),
                ('gateway_payment', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='receipt', to='payments.gatewaypayment')),
                ('ledger_payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='receipt', to='finance.financialtransaction')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
            ],
            options={
                'ordering': ['-issued_at', '-id'],
                'indexes': [models.Index(models.F('public_token_hash'), name='receipt_token')],
                'constraints': [
                    models.UniqueConstraint(models.F('tenant'), models.F('number'), name='receipt_number_unique'),
                    models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='receipt_amount_positive'),
                    models.CheckConstraint(condition=models.Q(('public_token_hash__regex', '^[0-9a-f]{64}$')), name='receipt_token_hash'),
                ],
            },
        ),
    ]
