import base64
import json
from datetime import timedelta

import pytest
from werkzeug import Response

from notifications import services, states
from notifications.models import Notification
from notifications.services import Outcome
from notifications.sms import Sms, SmsError, TwilioSmsBackend

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-test-token"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture
def twilio(settings, httpserver):
    """The Twilio SDK pointed at a local server that speaks the Messages API."""
    settings.SMS_BACKEND = "notifications.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SMS_FROM_NUMBER = "+447700900001"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_BASE_URL = httpserver.url_for("/")
    return httpserver


def created(request):
    form = request.form
    return Response(json.dumps({
        "sid": "SM0123456789abcdef0123456789abcdef", "account_sid": SID, "to": form["To"], "from": form["From"],
        "body": form["Body"], "status": "queued", "num_segments": "1", "direction": "outbound-api",
    }), status=201, content_type="application/json")


class TestTwilioSmsBackend:
    def test_posts_the_message_to_the_messages_api_with_basic_auth(self, twilio):
        auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        twilio.expect_oneshot_request(PATH, method="POST", headers={"Authorization": auth}).respond_with_handler(
            created)

        sent = TwilioSmsBackend().send(Sms(to="+447911123456", body="Pay £12: https://pay.example/p/1"))

        request, _ = twilio.log[0]
        assert sent.provider_id == "SM0123456789abcdef0123456789abcdef"
        assert dict(request.form) == {"To": "+447911123456", "From": "+447700900001",
                                      "Body": "Pay £12: https://pay.example/p/1"}
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        twilio.check_assertions()

    def test_sends_through_a_messaging_service_when_one_is_set(self, twilio, settings):
        settings.TWILIO_MESSAGING_SERVICE_SID = "MG0123456789abcdef0123456789abcdef"
        twilio.expect_oneshot_request(PATH, method="POST").respond_with_handler(
            lambda request: Response(json.dumps({"sid": "SM1"}), status=201, content_type="application/json"))

        TwilioSmsBackend().send(Sms(to="+447911123456", body="Hello"))

        request, _ = twilio.log[0]
        assert dict(request.form) == {"To": "+447911123456", "Body": "Hello",
                                      "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef"}

    def test_a_refusal_is_an_sms_error_with_twilios_code_and_message(self, twilio):
        twilio.expect_oneshot_request(PATH, method="POST").respond_with_json(
            {"code": 21211, "message": "The 'To' number +440000 is not a valid phone number.", "status": 400,
             "more_info": "https://www.twilio.com/docs/errors/21211"}, status=400)

        with pytest.raises(SmsError) as refused:
            TwilioSmsBackend().send(Sms(to="+440000", body="Hello"))

        assert str(refused.value) == (
            "Twilio refused the message (400, code 21211): Unable to create record: "
            "The 'To' number +440000 is not a valid phone number.")

    def test_is_refused_without_credentials(self, settings):
        settings.TWILIO_ACCOUNT_SID = ""

        with pytest.raises(SmsError, match="SMS is not configured"):
            TwilioSmsBackend()


@pytest.mark.django_db
class TestDeliveringAnSmsThroughTwilio:
    def test_records_twilios_message_sid(self, twilio, in_tenant, customer, at):
        twilio.expect_oneshot_request(PATH, method="POST").respond_with_handler(created)
        [sms] = services.notify(tenant=in_tenant, event_key="e", template_key="generic", channels=["sms"],
                                customer=customer, at=at)

        outcome = services.deliver(tenant=in_tenant, notification_id=sms.pk, at=at)

        sms.refresh_from_db()
        assert outcome == Outcome.SENT
        assert (sms.state, sms.provider_id) == (states.SENT, "SM0123456789abcdef0123456789abcdef")
        assert twilio.log[0][0].form["Body"] == "Acme Brokers: please get in touch with us about your account."

    def test_a_server_error_is_retried_and_shown(self, twilio, in_tenant, customer, at):
        twilio.expect_request(PATH, method="POST").respond_with_data("upstream down", status=503)
        [sms] = services.notify(tenant=in_tenant, event_key="e", template_key="generic", channels=["sms"],
                                customer=customer, at=at)

        outcome = services.deliver(tenant=in_tenant, notification_id=sms.pk, at=at)

        sms = Notification.objects.get(pk=sms.pk)
        assert outcome == Outcome.RETRY
        assert (sms.state, sms.attempts, sms.due_at) == (states.PENDING, 1, at + timedelta(minutes=1))
        assert sms.last_error.startswith("SmsError: Twilio refused the message (503")
