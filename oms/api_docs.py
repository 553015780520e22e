"""What the API documentation tells a storefront developer about each operation.

One row per operationId: a short summary (the title in the docs page) and a description
that says what the call does, when to use it and what it answers. `oms.core.schema`
applies the table to the generated schema (`api_docs_postprocess`), so the views' own
docstrings, written for the people who maintain them, never show in the docs. An operation
missing from the table is a warning when the schema is built (`spectacular --fail-on-warn`
fails), and tests/test_openapi.py checks every operation has both texts.

Texts follow the contract (/api/v1/, money as decimal strings, errors as `{"code", "message"}`);
the error statuses themselves are listed per operation by the schema.
"""

from __future__ import annotations

# operationId -> (summary, description)
OPERATIONS: dict[str, tuple[str, str]] = {
    # --- account ---------------------------------------------------------------------------
    "me_retrieve": (
        "Check your API key",
        "Answers which shop (tenant) and which role the API key in the `Authorization: Bearer` "
        "header acts as. Call it once when you configure a storefront to check the key works "
        "before you send orders; a missing, unknown or revoked key answers 401.",
    ),
    # --- orders ----------------------------------------------------------------------------
    "orders_list": (
        "List orders",
        "The shop's orders, newest first, a page at a time (follow `next` until it is null; "
        "`limit` up to 200). Narrow the list with `state`, `channel`, `email`, `sku`, "
        "`external_id` and the `created_after` / `created_before` dates, for instance to find "
        "the order a checkout placed from its `external_id`.",
    ),
    "orders_create": (
        "Place an order",
        "Places an order from your checkout: customer, ship-to address, lines (SKU code, "
        "quantity, unit price) and money as decimal strings in the order's `currency`. "
        "Send an `Idempotency-Key` header so a retried request never places the order twice; "
        "`external_id` is also unique per channel, and placing the same `channel` + "
        "`external_id` again answers 200 with the existing order. Stock is allocated from the "
        "nearest warehouse that can ship it; what cannot be allocated is backordered (or "
        "refused with 422 `insufficient_stock` when the shop does not take backorders). Pass "
        "`reservation` to turn a checkout reservation into the order's stock. If allocation "
        "runs after the response, `state` is `pending` and a later read shows the result.",
    ),
    "orders_retrieve": (
        "Get an order",
        "One order with its lines, allocations, holds, payments and shipments (with carrier "
        "and tracking). Use it to show a customer their order status. An order of another "
        "shop, or none, answers 404.",
    ),
    "orders_partial_update": (
        "Change an order before it ships",
        "Changes the ship-to address, the service level or the lines (send the whole new list "
        "of lines) of an order that is not yet being picked; the order is allocated again and "
        "its totals recomputed. Once picking has begun the order can no longer change: 409.",
    ),
    "orders_cancel_create": (
        "Cancel an order",
        "Cancels an order that has not shipped, with an optional `reason` shown on its "
        "timeline; its stock is released and an authorized payment is voided or refunded. "
        "An order that has shipped answers 409 `illegal_transition`: open a return instead.",
    ),
    "orders_events_list": (
        "Order timeline",
        "What happened to an order, oldest first: each event with its type, the state before "
        "and after, who did it and when. Use it for an order-history page or to see why an "
        "order is on hold or backordered.",
    ),
    "orders_hold_create": (
        "Put an order on hold",
        "Stops an order from being fulfilled until the hold is released, for instance while "
        "you check a payment (`payment`), an address (`address`) or a suspected fraud "
        "(`fraud`); `manual` is the default kind. The `reason` is shown to the shop's staff.",
    ),
    "orders_release_create": (
        "Release an order's hold",
        "Lifts the order's holds of the given `kind`, or every hold when `kind` is left out, "
        "with a `reason` for the timeline; the order then goes on to allocation and "
        "fulfillment. An order without such a hold answers 409.",
    ),
    # --- inventory -------------------------------------------------------------------------
    "warehouses_list": (
        "List warehouses",
        "The shop's warehouses with their address, coordinates, priority and the countries "
        "each ships to, a page at a time.",
    ),
    "warehouses_create": (
        "Add a warehouse",
        "Adds a warehouse by its `code`. Coordinates are filled in from the postal code when "
        "left out; `priority` breaks ties between warehouses at the same distance and "
        "`ships_to` lists the countries it serves. Takes an `Idempotency-Key`; a code already "
        "in use answers 409.",
    ),
    "warehouses_retrieve": (
        "Get a warehouse",
        "One warehouse, addressed by its code.",
    ),
    "warehouses_update": (
        "Change a warehouse",
        "Changes the fields you send (name, address, coordinates, priority, countries served, "
        "active). An inactive warehouse takes no new allocations.",
    ),
    "skus_list": (
        "List SKUs",
        "The shop's catalogue of stock-keeping units, a page at a time: code, name, barcode, "
        "weight and dimensions, price, and whether it can be returned.",
    ),
    "skus_create": (
        "Add a SKU",
        "Adds a SKU by its `code` (the code your storefront sends in order lines). Weight and "
        "dimensions are used to rate and buy shipping labels. Takes an `Idempotency-Key`; "
        "a code already in use answers 409.",
    ),
    "skus_retrieve": (
        "Get a SKU",
        "One SKU, addressed by its code.",
    ),
    "skus_update": (
        "Change a SKU",
        "Changes the fields you send. Set `active` to false to stop selling a SKU while keeping its history.",
    ),
    "skus_availability": (
        "Check availability of a SKU",
        "How many units of a SKU can be sold now, in total and per warehouse (on hand, "
        "allocated to orders, reserved by checkouts, available). Use it to show stock on a "
        "product page; to hold stock during checkout, create a reservation.",
    ),
    "stock_list": (
        "List stock levels",
        "Stock per SKU and warehouse: on hand, allocated, reserved and available, a page at a "
        "time; filter by `sku` or `warehouse` code.",
    ),
    "stock_adjust": (
        "Adjust stock",
        "Changes the units on hand of one SKU in one warehouse, either by a `delta` or to a "
        "counted `on_hand`, with a `reason` (receipt, adjustment, count, damage) and an "
        "optional `reference` kept in the stock ledger. Answers the stock level after the "
        "change; a change that would leave fewer units on hand than are allocated answers 422.",
    ),
    "reservations_create": (
        "Reserve stock at checkout",
        "Holds the lines of a cart for `ttl_seconds` (15 minutes unless told) so they cannot "
        "be sold to someone else while the customer pays; answers where each line is held and "
        "when the hold expires. Pass its `id` as `reservation` when you place the order. "
        "422 `insufficient_stock` when the lines cannot be held.",
    ),
    "reservations_retrieve": (
        "Get a reservation",
        "A reservation's lines, warehouses and expiry, to check a cart's hold is still alive.",
    ),
    "reservations_release": (
        "Release a reservation",
        "Gives the reserved stock back at once, for instance when a customer leaves the "
        "checkout; answers 204. Reservations also expire by themselves.",
    ),
    "replenishment_retrieve": (
        "Replenishment suggestions",
        "What to reorder and what to move between warehouses, from the units sold over the "
        "last `days` (28 unless told): for each SKU and warehouse its sales per day, days of "
        "cover and suggested reorder quantity, and transfers from warehouses with spare stock. "
        "Narrow it to one `sku` or `warehouse`.",
    ),
    # --- shipments -------------------------------------------------------------------------
    "shipments_list": (
        "List shipments",
        "The parcels sent or to be sent for the shop's orders, a page at a time; filter by "
        "`order`, `warehouse` or `state`. Each carries its carrier, tracking number and link.",
    ),
    "shipments_retrieve": (
        "Get a shipment",
        "One shipment: its warehouse, state, lines, parcels, carrier, tracking number and "
        "link, label, and when it shipped and was delivered.",
    ),
    "shipments_rates": (
        "Get shipping rates",
        "The carriers' rates for a shipment (carrier, service, amount, estimated days), to "
        "choose one before buying a label. Fresh quotes are reused for a while; 503 when the "
        "carrier cannot be reached (retry after `Retry-After` seconds).",
    ),
    "shipments_label": (
        "Buy a shipping label",
        "Buys the label for a shipment at the chosen `rate_id`, or at the rate the shop's "
        "rate-shopping policy picks when you send `{}`. Never buys twice: repeating the call "
        "answers the same label. Answers the shipment with its label and tracking number, or "
        "202 while the purchase is still in progress (read the shipment again).",
    ),
    "shipments_ship": (
        "Mark a shipment as shipped",
        "For a shipment your own warehouse or 3PL sent with its own label: give the "
        "`carrier`, `tracking_number` and optionally `tracking_url`. Stock leaves the "
        "warehouse and the order moves on as with a label bought here. Repeating it for a "
        "shipment that already left answers the shipment as it is.",
    ),
    "shipments_cancel": (
        "Cancel a shipment",
        "Cancels a shipment that has not left: its label, if any, is voided and its lines go "
        "back to the order, ready to ship again. A shipment already on its way answers 409.",
    ),
    # --- returns ---------------------------------------------------------------------------
    "returns_list": (
        "List returns",
        "The shop's return requests (RMAs), newest first, a page at a time; filter by `order` or `state`.",
    ),
    "returns_create": (
        "Open a return",
        "Opens a return for lines of an order that has shipped: for each line the quantity and a "
        "reason, and whether the customer wants a `refund` or an `exchange` (with the "
        "exchange lines). Takes an `Idempotency-Key`. Refused with 422 "
        "`outside_return_window`, `quantity_exceeds_returnable` or `not_returnable`.",
    ),
    "returns_retrieve": (
        "Get a return",
        "One return: its RMA number, state, lines, return label and tracking, the refund and "
        "any exchange order. Use it to show a customer where their return stands.",
    ),
    "returns_receive": (
        "Record what a return brought back",
        "For a 3PL or warehouse system: reports, line by line, the units that arrived, their "
        "condition and what to do with them (`restock`, `refurbish`, `scrap`). Restocked "
        "units go back into the warehouse's stock; the refund follows.",
    ),
    "returns_cancel": (
        "Cancel a return",
        "Withdraws a return before anything has arrived, with an optional `reason`. Once "
        "goods have been received it answers 409 `illegal_transition`.",
    ),
}
