"""The delivery life cycle of a notification, as data. ``services`` is the one door that applies it.

::

    pending ──claim──▶ sending ──succeed──▶ sent
    deferred ─claim─┘     │  ├──retry_later──▶ pending   (an attempt failed; try again after a pause)
                          │  ├──give_up──────▶ failed    (the last attempt failed)
                          │  └──interrupt────▶ failed    (the worker died mid-send: may or may not be sent)
    failed ──retry──▶ pending                            (staff asked to try again)
"""

from __future__ import annotations

from notifications.models import DeliveryState

PENDING = DeliveryState.PENDING
DEFERRED = DeliveryState.DEFERRED
SENDING = DeliveryState.SENDING
SENT = DeliveryState.SENT
FAILED = DeliveryState.FAILED
CHOICES = DeliveryState.choices

# A new row starts pending or deferred (email, SMS), sent (in-app: the row is the delivery), or
# failed (nowhere to send it, e.g. the customer has no email address) so that it is seen, not lost.
INITIAL = frozenset({PENDING, DEFERRED, SENT, FAILED})

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({PENDING, DEFERRED}), SENDING),
    "succeed": (frozenset({SENDING}), SENT),
    "retry_later": (frozenset({SENDING}), PENDING),
    "give_up": (frozenset({SENDING}), FAILED),
    "interrupt": (frozenset({SENDING}), FAILED),
    "retry": (frozenset({FAILED}), PENDING),
}

WAITING = frozenset({PENDING, DEFERRED})


class InvalidTransition(Exception):
    def __init__(self, action: str, state: str):
        super().__init__(f"Cannot {action.replace('_', ' ')} a notification that is {state}.")
        self.action = action
        self.state = state


def target(action: str, state: str) -> str:
    """The state ``action`` leads to from ``state``; :class:`InvalidTransition` if it is not allowed."""
    sources, to = TRANSITIONS[action]
    if state not in sources:
        raise InvalidTransition(action, state)
    return to
