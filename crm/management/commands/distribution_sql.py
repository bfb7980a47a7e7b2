"""Print the statements that distribute the schema on a Citus coordinator, by tenant, from the database's
catalog and the lists in ``core.distribution``: ``manage.py distribution_sql``. ``docs/distribution.md``
shows its output for the current migrations."""

from django.core.management.base import BaseCommand
from django.db import connection

from core import distribution


class Command(BaseCommand):
    help = "Print the statements that distribute the schema by tenant on a Citus coordinator."

    def handle(self, *args, **options):
        with connection.cursor() as cursor:
            schema = distribution.read_schema(cursor)
        problems = distribution.colocation_problems(schema)
        if problems:
            self.stderr.write("The schema cannot be distributed as it is:\n" + "\n".join(problems))
            raise SystemExit(1)
        self.stdout.write("\n".join(distribution.distribution_script(schema)))
