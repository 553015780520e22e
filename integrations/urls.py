from django.urls import path

from integrations.stripe.webhooks import stripe_webhook

app_name = "integrations"

urlpatterns = [
    path("stripe/<int:account_id>/webhook/", stripe_webhook, name="stripe-webhook"),
]
