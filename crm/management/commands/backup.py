"""``manage.py backup [--output FILE]``: dump the database (``core.backups``), by default to
``var/backups/duly-<UTC time>.dump``; prints the file's path."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import backups


class Command(BaseCommand):
    help = "Back the database up with pg_dump (custom format)."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="the file to write (default: var/backups/duly-<time>.dump)")

    def handle(self, *args, output=None, **options):
        output = output or settings.BASE_DIR / "var" / "backups" / f"duly-{datetime.now(UTC):%Y%m%d-%H%M%S}.dump"
        try:
            backups.backup(database_url=backups.url_of(connection.get_connection_params()), path=output)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(output))

