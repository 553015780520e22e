"""Stripe: the PaymentGateway adapter (real `stripe` SDK) and the webhook endpoint."""
