"""What the database itself guarantees about the ledger, whatever writes to it (ORM, bulk updates,
the admin, the API, a psql session):

* a transaction has its account's tenant and currency, and an allocation joins a credit and a debit
  of one account, tenant and currency (composite foreign keys);
* a posted or rejected transaction never changes, except ``open_amount`` (the unallocated part),
  and is never deleted; its lines neither;
* an allocation is never deleted and only ever reversed, once.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE finance_financialtransaction
  ADD CONSTRAINT txn_account_tenant_currency_fk FOREIGN KEY (account_id, tenant_id, currency)
  REFERENCES finance_account (id, tenant_id, currency) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE finance_allocation
  ADD CONSTRAINT allocation_account_fk FOREIGN KEY (account_id, tenant_id, currency)
  REFERENCES finance_account (id, tenant_id, currency) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT allocation_credit_same_account_fk FOREIGN KEY (credit_id, account_id, currency)
  REFERENCES finance_financialtransaction (id, account_id, currency) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT allocation_debit_same_account_fk FOREIGN KEY (debit_id, account_id, currency)
  REFERENCES finance_financialtransaction (id, account_id, currency) DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION finance_protect_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.state <> 'draft' THEN
      RAISE EXCEPTION 'financial transaction % is %; it cannot be deleted', OLD.id, OLD.state
        USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.state <> 'draft'
     AND (to_jsonb(NEW) - 'open_amount') IS DISTINCT FROM (to_jsonb(OLD) - 'open_amount') THEN
    RAISE EXCEPTION 'financial transaction % is %; it cannot be changed', OLD.id, OLD.state
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_protect_transaction BEFORE UPDATE OR DELETE ON finance_financialtransaction
  FOR EACH ROW EXECUTE FUNCTION finance_protect_transaction();

CREATE FUNCTION finance_protect_line() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE parent_state text;
BEGIN
  SELECT state INTO parent_state FROM finance_financialtransaction
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.transaction_id ELSE NEW.transaction_id END;
  IF parent_state IS NOT NULL AND parent_state <> 'draft' THEN
    RAISE EXCEPTION 'the lines of a % transaction cannot be changed', parent_state
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_protect_line BEFORE INSERT OR UPDATE OR DELETE ON finance_transactionline
  FOR EACH ROW EXECUTE FUNCTION finance_protect_line();

CREATE FUNCTION finance_protect_allocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'allocation % cannot be deleted; reverse it', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.reversed_at IS NOT NULL
     OR (to_jsonb(NEW) - 'reversed_at' - 'reversal_reason') IS DISTINCT FROM
        (to_jsonb(OLD) - 'reversed_at' - 'reversal_reason') THEN
    RAISE EXCEPTION 'allocation % can only be reversed, once', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_protect_allocation BEFORE UPDATE OR DELETE ON finance_allocation
  FOR EACH ROW EXECUTE FUNCTION finance_protect_allocation();
"""

BACKWARD = """
DROP TRIGGER finance_protect_allocation ON finance_allocation;
DROP FUNCTION finance_protect_allocation();
DROP TRIGGER finance_protect_line ON finance_transactionline;
DROP FUNCTION finance_protect_line();
DROP TRIGGER finance_protect_transaction ON finance_financialtransaction;
DROP FUNCTION finance_protect_transaction();
ALTER TABLE finance_allocation DROP CONSTRAINT allocation_debit_same_account_fk,
  DROP CONSTRAINT allocation_credit_same_account_fk, DROP CONSTRAINT allocation_account_fk;
ALTER TABLE finance_financialtransaction DROP CONSTRAINT txn_account_tenant_currency_fk;
"""


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
