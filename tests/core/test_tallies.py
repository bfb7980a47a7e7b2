"""Duly's counts for the metrics page (``core.tallies``): added at once, or gathered and sent together."""

from core import tallies
from tests.helpers import clear_tallies


def counts() -> dict:
    return {(name, tuple(sorted(labels.items()))): count for name, labels, count in tallies.read()}


def test_counts_are_added_and_read_back_by_name_and_labels():
    clear_tallies()
    tallies.add("postings", classification="invoice")
    tallies.add("postings", 2, classification="invoice")
    tallies.add("webhook_deliveries_received")

    assert counts() == {("postings", (("classification", "invoice"),)): 3, ("webhook_deliveries_received", ()): 1}
    clear_tallies()


def test_gathered_counts_are_sent_together_when_the_block_ends():
    clear_tallies()
    with tallies.gathered():
        for _ in range(100):
            tallies.add("webhook_deliveries_processed", outcome="processed")
        during = counts()

    assert during == {}
    assert counts() == {("webhook_deliveries_processed", (("outcome", "processed"),)): 100}
    clear_tallies()
