"""The posting as one PostgreSQL function, version 1 (``finance/sql/posting_v1.sql``).

A later version is a new file and a new migration; this one keeps reading version 1.
"""

from pathlib import Path

from django.db import migrations

POSTING = (Path(__file__).resolve().parent.parent / "sql" / "posting_v1.sql").read_text()
DROP = """
DROP FUNCTION IF EXISTS finance_post(bigint, bigint, timestamptz, date, bigint, text, text);
DROP FUNCTION IF EXISTS finance_allocate(bigint, bigint, text, bigint, bigint, numeric, timestamptz);
DROP FUNCTION IF EXISTS finance_unallocate(bigint, bigint, timestamptz, text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("finance", "0011_open_invoices_by_due"),
    ]

    operations = [
        migrations.RunSQL(POSTING, DROP),
    ]
