"""The gapless numbers come from ``finance_counter``, a row per tenant and series, instead of
django-sequences' table, whose rows had no tenant (``core.distribution``). The posting function moves to
version 2 (``finance/sql/posting_v2.sql``); the booking's follows in payments 0018.

The counters are copied from django-sequences' table when there is one (names ``finance:<tenant>:<classification>``
and ``receipts:<tenant>``), which is then dropped.
"""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql"

COPY = """
DO $$ BEGIN
  IF to_regclass('sequences_sequence') IS NOT NULL THEN
    INSERT INTO finance_counter (tenant_id, series, last)
    SELECT split_part(name, ':', 2)::bigint, split_part(name, ':', 3), last
      FROM sequences_sequence WHERE name LIKE 'finance:%'
    UNION ALL
    SELECT split_part(name, ':', 2)::bigint, 'receipt', last FROM sequences_sequence WHERE name LIKE 'receipts:%';
    DROP TABLE sequences_sequence;
  END IF;
END $$;
"""
COPY_BACK = """
CREATE TABLE sequences_sequence (name varchar(100) PRIMARY KEY, last bigint NOT NULL CHECK (last >= 0));
INSERT INTO sequences_sequence (name, last)
SELECT CASE series WHEN 'receipt' THEN 'receipts:' || tenant_id ELSE 'finance:' || tenant_id || ':' || series END,
       last
  FROM finance_counter;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_colocated_by_tenant"),
        ("finance", "0014_tenant_joins"),
    ]

    operations = [
        migrations.CreateModel(
            name="Counter",
            fields=[
                ("pk", models.CompositePrimaryKey("tenant", "series", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("series", models.CharField(max_length=24)),
                ("last", models.BigIntegerField()),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                             to="crm.tenant")),
            ],
        ),
        migrations.RunSQL(COPY, COPY_BACK),
        migrations.RunSQL((SQL / "posting_v2.sql").read_text(), (SQL / "posting_v1.sql").read_text()),
    ]
