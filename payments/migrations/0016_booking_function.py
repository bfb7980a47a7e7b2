"""The booking of a gateway payment's success as one PostgreSQL function, version 1
(``payments/sql/booking_v1.sql``). A later version is a new file and a new migration."""

from pathlib import Path

from django.db import migrations

BOOKING = (Path(__file__).resolve().parent.parent / "sql" / "booking_v1.sql").read_text()
DROP = """
DROP FUNCTION IF EXISTS payments_book_success(bigint, bigint, bigint, text, bigint, timestamptz, text, text, text,
                                              text);
DROP FUNCTION IF EXISTS payments_issue_receipt(bigint, bigint, timestamptz, text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0015_payment_notices"),
        ("finance", "0012_posting_function"),
        ("crm", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(BOOKING, DROP),
    ]
