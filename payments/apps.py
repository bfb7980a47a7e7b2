from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from payments import settlement
        from payments.services.instalment_records import InstalmentSettlement
        from payments.services.request_records import EmailPaySettlement, RequestSettlement

        for handler in (RequestSettlement(), EmailPaySettlement(), InstalmentSettlement()):
            settlement.register(handler)
