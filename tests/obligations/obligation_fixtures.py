"""Fixtures and helpers of the obligation tests."""

from datetime import UTC, date, datetime

import pytest

from obligations.services.obligations import ObligationData, create_obligation

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_obligation(customer, *, actor=None, total="300.00", count=3, first=date(2026, 4, 1), amount=None,
                    send_email=False, manager_comments="", description="Road tax 2026", at=AT, plan="automatic",
                    rows=(), currency="GBP"):
    return create_obligation(
        customer=customer,
        actor=actor,
        at=at,
        send_email=send_email,
        plan=plan,
        data=ObligationData(
            payee="DVLA",
            payee_kind="government",
            payment_code="RT-2026-0042",
            description=description,
            total_amount=total,
            currency=currency,
            date_rule="next",
            manager_comments=manager_comments,
        ),
        first_due_on=first,
        count=count,
        instalment_amount=amount,
        rows=rows,
    )


@pytest.fixture
def obligation(ledger, customer, staff):
    # 1 Apr 2026 (Wed), 1 May 2026 (Fri), 1 Jun 2026 (Mon): business days in England.
    return make_obligation(customer, actor=staff, manager_comments="Customer is slow to pay; call first.")
