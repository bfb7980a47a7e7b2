"""Every unique constraint of the ledger's tables includes the tenant (``core.distribution``)."""

from django.db import migrations, models

ALLOCATION_KEYS = """
ALTER TABLE finance_allocation
  ADD CONSTRAINT allocation_credit_same_account_fk FOREIGN KEY (credit_id, account_id, currency{tenant})
  REFERENCES finance_financialtransaction (id, account_id, currency{tenant}) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT allocation_debit_same_account_fk FOREIGN KEY (debit_id, account_id, currency{tenant})
  REFERENCES finance_financialtransaction (id, account_id, currency{tenant}) DEFERRABLE INITIALLY DEFERRED;
"""
DROP_ALLOCATION_KEYS = """
ALTER TABLE finance_allocation
  DROP CONSTRAINT allocation_credit_same_account_fk, DROP CONSTRAINT allocation_debit_same_account_fk;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_customer_iban"),
        ("finance", "0012_posting_function"),
    ]

    operations = [
        # An allocation's credit and debit are of its account, currency and tenant.
        migrations.RunSQL(DROP_ALLOCATION_KEYS, ALLOCATION_KEYS.format(tenant="")),
        migrations.RemoveConstraint(model_name="financialtransaction", name="txn_id_account_currency"),
        migrations.AddConstraint(
            model_name="financialtransaction",
            constraint=models.UniqueConstraint(
                models.F("id"), models.F("account"), models.F("currency"), models.F("tenant"),
                name="txn_id_account_currency",
            ),
        ),
        migrations.RunSQL(ALLOCATION_KEYS.format(tenant=", tenant_id"), DROP_ALLOCATION_KEYS),
        migrations.RemoveConstraint(model_name="targetedinvoice", name="target_unique"),
        migrations.RemoveConstraint(model_name="transactionline", name="line_position_unique"),
        migrations.AddConstraint(
            model_name="targetedinvoice",
            constraint=models.UniqueConstraint(
                models.F("credit"), models.F("invoice"), models.F("tenant"), name="target_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="transactionline",
            constraint=models.UniqueConstraint(
                models.F("transaction"), models.F("position"), models.F("tenant"), name="line_position_unique"
            ),
        ),
    ]
