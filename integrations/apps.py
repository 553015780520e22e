from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        """Each vendor package registers what it implements: the house's registries never import them."""
        from fulfillment.carriers import register_carrier_gateway
        from integrations.amazon.events import amazon_event_handle
        from integrations.amazon.gateway import amazon_gateway_for
        from integrations.amazon.poller import amazon_poll
        from integrations.amazon.stock import amazon_stock_publish
        from integrations.ebay.events import ebay_event_handle
        from integrations.ebay.gateway import ebay_gateway_for
        from integrations.ebay.poller import ebay_poll
        from integrations.ebay.stock import ebay_stock_publish
        from integrations.inbox import register_inbound_handler
        from integrations.metrics import inbox_gauges
        from integrations.polling import register_poller
        from integrations.publishing import register_stock_publisher
        from integrations.shippo.events import shippo_event_handle
        from integrations.shippo.gateway import shippo_gateway_for
        from integrations.shippo.webhooks import shippo_webhook_verify
        from integrations.shopify.events import shopify_event_handle
        from integrations.shopify.gateway import shopify_gateway_for
        from integrations.shopify.stock import shopify_stock_publish
        from integrations.shopify.webhooks import shopify_webhook_verify
        from integrations.stripe.events import stripe_event_handle
        from integrations.stripe.gateway import stripe_gateway_for
        from integrations.stripe.webhooks import stripe_webhook_verify
        from integrations.webhooks import register_webhook_verifier
        from integrations.woocommerce.events import woocommerce_event_handle
        from integrations.woocommerce.gateway import woocommerce_gateway_for
        from integrations.woocommerce.stock import woocommerce_stock_publish
        from integrations.woocommerce.webhooks import woocommerce_webhook_verify
        from oms.metrics.exposition import register_gauge_source
        from orders.channels import register_channel_gateway
        from orders.payments.gateway import register_gateway

        # Payments and carriers.
        register_gateway("stripe", stripe_gateway_for)
        register_webhook_verifier("stripe", stripe_webhook_verify)
        register_inbound_handler("stripe", stripe_event_handle)
        register_carrier_gateway("shippo", shippo_gateway_for)
        register_webhook_verifier("shippo", shippo_webhook_verify)
        register_inbound_handler("shippo", shippo_event_handle)
        # Marketplaces by webhook (docs/marketplaces.md, docs/woocommerce.md).
        register_webhook_verifier("shopify", shopify_webhook_verify)
        register_inbound_handler("shopify", shopify_event_handle)
        register_channel_gateway("shopify", shopify_gateway_for)
        register_stock_publisher("shopify", shopify_stock_publish)
        register_webhook_verifier("woocommerce", woocommerce_webhook_verify)
        register_inbound_handler("woocommerce", woocommerce_event_handle)
        register_channel_gateway("woocommerce", woocommerce_gateway_for)
        register_stock_publisher("woocommerce", woocommerce_stock_publish)
        # Marketplaces by polling (docs/amazon.md, docs/ebay.md).
        register_poller("amazon", amazon_poll)
        register_inbound_handler("amazon", amazon_event_handle)
        register_channel_gateway("amazon", amazon_gateway_for)
        register_stock_publisher("amazon", amazon_stock_publish)
        register_poller("ebay", ebay_poll)
        register_inbound_handler("ebay", ebay_event_handle)
        register_channel_gateway("ebay", ebay_gateway_for)
        register_stock_publisher("ebay", ebay_stock_publish)
        # The inbox's backlog and dead letters, read at each metrics scrape.
        register_gauge_source("inbox", inbox_gauges)
