"""The WooCommerce connector: order webhooks in, tracking and cancellations back, stock out.

See docs/woocommerce.md.
"""
