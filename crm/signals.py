"""What other apps may hook into without ``crm`` knowing them."""

from django.dispatch import Signal

# Sent by ``crm.services.create_tenant`` inside its transaction and the new tenant's scope, with
# ``tenant``: each app creates the tenant's defaults once (the ledger its configuration).
tenant_created = Signal()
