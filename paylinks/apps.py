from django.apps import AppConfig


class PaylinksConfig(AppConfig):
    name = "paylinks"
    verbose_name = "Pay links"

    def ready(self):
        from paylinks.settlement import EmailPaySettlement, RequestSettlement
        from payments import settlement

        settlement.register(RequestSettlement())
        settlement.register(EmailPaySettlement())
