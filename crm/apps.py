from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self):
        from core.rls import on_post_migrate

        post_migrate.connect(on_post_migrate, dispatch_uid="core.rls")

        from django.contrib.auth.signals import user_logged_in

        from crm.middleware import seen_at_sign_in

        user_logged_in.connect(seen_at_sign_in, dispatch_uid="crm.seen_at_sign_in")
