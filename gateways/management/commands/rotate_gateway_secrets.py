"""Re-encrypt every tenant's gateway secrets with the newest key of DULY_SECRETS_KEYS."""

from django.core.management.base import BaseCommand

from gateways.services import rotate_gateway_secrets


class Command(BaseCommand):
    help = "Re-encrypt every stored gateway secret with the newest key (put the new key first in DULY_SECRETS_KEYS)."

    def handle(self, *args, **options):
        count = rotate_gateway_secrets()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} gateway secret(s) with the newest key."))
