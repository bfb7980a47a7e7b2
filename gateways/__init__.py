"""Gateways: one interface to Stripe, Cashflows, Credicorp and the offline sandbox provider."""
