from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"

    def ready(self):
        from django.db.models.signals import post_migrate

        from crm.signals import tenant_created
        from finance.services.setup import set_up_ledgers_missing, tenant_created_ledger

        tenant_created.connect(tenant_created_ledger, dispatch_uid="finance.ledger_defaults")
        post_migrate.connect(set_up_ledgers_missing, sender=self, dispatch_uid="finance.ledger_backfill")
