"""Issue reasons become a tenant's list to choose from. The free text typed until now is kept,
readable, as the transaction's issue note (a rename: posted rows are not rewritten)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0001_initial'),
        ('finance', '0008_lenders'),
    ]

    operations = [
        migrations.RenameField(
            model_name='financialtransaction',
            old_name='issue_reason',
            new_name='issue_note',
        ),
        migrations.CreateModel(
            name='IssueReason',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.CharField(max_length=200)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crm.tenant')),
            ],
            options={
                'ordering': ['text'],
                'constraints': [models.UniqueConstraint('tenant', 'text', name='issuereason_text_unique')],
            },
        ),
        migrations.AddField(
            model_name='financialtransaction',
            name='issue_reason',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    to='finance.issuereason'),
        ),
    ]
