"""Notifications: the outbox, channels (email, SMS, in-app), tenant-editable message templates."""
