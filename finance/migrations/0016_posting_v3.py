"""The posting function moves to version 3 (``finance/sql/posting_v3.sql``): what a posting settles is
written before the tenant's gapless number is taken, so concurrent postings of a tenant wait on each
other for less of each posting."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0015_counters"),
    ]

    operations = [
        migrations.RunSQL((SQL / "posting_v3.sql").read_text(), (SQL / "posting_v2.sql").read_text()),
    ]
