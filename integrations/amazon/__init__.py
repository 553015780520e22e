"""Amazon Selling Partner API (SP-API): orders polled in, tracking and stock pushed out.

- `auth.py`: the account's credentials and Login with Amazon (LWA) access tokens.
- `client.py`: the HTTP client: a token bucket per operation before every call, errors mapped.
- `poller.py`: `searchOrders` (Orders API v2026-01-01) by last-updated time, page by page.
- `events.py`: the inbox handler: Amazon's order becomes a `MarketplaceOrder`.
- `gateway.py`: tracking back with `confirmShipment` (Orders API v0).
- `stock.py`: quantities out with the Listings Items API (`patchListingsItem`).
- `fake_server.py`: the local fake for tests and the demo.

See docs/amazon.md.
"""
