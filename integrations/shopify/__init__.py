"""Shopify: orders by webhook (orders/create, orders/updated, orders/cancelled), tracking pushed
back through the fulfillment-order model with the GraphQL Admin API. See docs/marketplaces.md."""
