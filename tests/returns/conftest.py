"""Returns fixtures: the payment fixtures (localstripe, sandbox) and the fake Shippo server."""

from __future__ import annotations

from tests.fakes.localstripe import localstripe_url  # noqa: F401  (session fixture)
from tests.fulfillment.conftest import shippo, shippo_account_a, shippo_server  # noqa: F401  (fixtures)
