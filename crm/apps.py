from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self):
        from core.rls import on_post_migrate

        post_migrate.connect(on_post_migrate, dispatch_uid="core.rls")
