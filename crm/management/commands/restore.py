"""``manage.py restore FILE --into NAME``: restore a backup (``core.backups``) into a new database NAME on
the server Duly uses, which it creates; or ``--into URL``, an empty database that exists. Nothing is ever
restored over a database that holds tables. Point ``DATABASE_URL`` at the copy to run Duly on it."""

from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import backups


class Command(BaseCommand):
    help = "Restore a backup (manage.py backup) into a new, empty database."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--into", required=True,
                            help="a new database's name (created on Duly's server), or an empty database's URL")

    def handle(self, *args, file, into, **options):
        try:
            if "://" in into:
                target = into
            else:
                target = backups.create_database(database_url=backups.url_of(connection.get_connection_params()),
                                                 name=into)
            backups.restore(path=file, database_url=target)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {file} into {urlsplit(target).path.lstrip('/')}.")
