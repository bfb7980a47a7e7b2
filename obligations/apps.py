from django.apps import AppConfig


class ObligationsConfig(AppConfig):
    name = "obligations"

    def ready(self):
        from obligations.settlement import InstalmentSettlement
        from payments import settlement

        settlement.register(InstalmentSettlement())
