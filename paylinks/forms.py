"""What the payment-request pages post, read into the typed input the services take."""

from __future__ import annotations

from django.http import QueryDict

from core.posted import PostedForm, text
from paylinks.services.requests import RequestData


def request_data(post: QueryDict) -> RequestData:
    return RequestData(amount=post.get("amount", ""), reference=post.get("reference", ""),
                       message=post.get("message", ""), channels=post.getlist("channels"))


class EmailPayForm(PostedForm):
    """The amount the payer chose to pay of an Email Pay invoice (the open amount, or part of it)."""

    amount = text()
