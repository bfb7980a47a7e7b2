from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The messages not sent yet, across tenants (the metrics page). Built CONCURRENTLY: the outbox is a
    large table that keeps being written while the index is built."""

    atomic = False
    dependencies = [("notifications", "0001_initial")]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(fields=["state", "due_at"], name="notification_unsent", condition=~models.Q(state="sent")),
        ),
    ]
