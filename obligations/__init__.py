"""Obligations: what customers owe in instalments, their schedules and reminders, and the customer portal."""
