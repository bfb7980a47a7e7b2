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

        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from crm.support_audit import copy_to_the_tenants_audit_log

        post_save.connect(copy_to_the_tenants_audit_log, sender=LogEntry, dispatch_uid="crm.support_audit")
