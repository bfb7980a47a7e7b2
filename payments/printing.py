"""Printouts of payments (receipts) use the ledger's printing: one renderer, one print stylesheet."""

from finance.printing import StaticFilesFetcher, render_pdf

__all__ = ["StaticFilesFetcher", "render_pdf"]
