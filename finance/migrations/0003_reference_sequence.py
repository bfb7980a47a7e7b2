"""Reference numbers are given on creation and need not be gapless, so they come from a plain
PostgreSQL sequence, which takes no lock (posting numbers, which must be gapless, use
django-sequences inside the posting transaction instead)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_ledger_integrity")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE finance_reference_seq START 100001;", "DROP SEQUENCE finance_reference_seq;"
        )
    ]
