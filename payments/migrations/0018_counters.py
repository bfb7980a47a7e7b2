"""The booking function, version 2 (``payments/sql/booking_v2.sql``): the receipt's number comes from
``finance_counter`` (finance 0015)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0017_unique_per_tenant"),
        ("finance", "0015_counters"),
    ]

    operations = [
        migrations.RunSQL((SQL / "booking_v2.sql").read_text(), (SQL / "booking_v1.sql").read_text()),
    ]
