from tests.finance.conftest import card, ledger

__all__ = ["card", "ledger"]
