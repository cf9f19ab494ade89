"""Webhook receivers of the payment provider and of the grid operator."""
