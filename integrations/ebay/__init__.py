"""eBay: orders polled from the Sell Fulfillment API (`getOrders` by last-modified time), tracking
pushed back with `createShippingFulfillment`, stock published with the Inventory API's
`bulkUpdatePriceQuantity`, all with a user access token bought with the account's refresh token.
See docs/ebay.md."""
