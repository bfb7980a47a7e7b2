"""Whatever platform support does to a tenant's data in the Django admin is in that tenant's audit log: the
admin records each addition, change and deletion (``LogEntry``), and each one about a tenant's row is
copied into the tenant's ``AuditEntry``s, with who did it."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django_scopes import scopes_disabled

from crm.models import AuditEntry, Tenant

ACTIONS = {ADDITION: "support.added", CHANGE: "support.changed", DELETION: "support.deleted"}


def copy_to_the_tenants_audit_log(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created or instance.content_type is None or instance.action_flag not in ACTIONS:
        return
    model = instance.content_type.model_class()
    with scopes_disabled():
        row = model._base_manager.filter(pk=instance.object_id).first() if model is not None else None
    tenant_id = row.pk if isinstance(row, Tenant) else getattr(row, "tenant_id", None)
    if tenant_id is None:
        return
    AuditEntry.objects.create(
        tenant_id=tenant_id, actor_id=instance.user_id, at=instance.action_time,
        action=ACTIONS[instance.action_flag], subject=f"{model._meta.verbose_name}: {instance.object_repr}"[:200],
        detail=instance.get_change_message()[:500])
