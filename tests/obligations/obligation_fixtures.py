"""Fixtures and helpers of the obligation tests."""

from datetime import UTC, datetime

import pytest

from tests.factories import ObligationFactory

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def obligation(ledger, customer, staff):
    # 1 Apr 2026 (Wed), 1 May 2026 (Fri), 1 Jun 2026 (Mon): business days in England.
    return ObligationFactory(customer=customer, actor=staff, manager_comments="Customer is slow to pay; call first.")
