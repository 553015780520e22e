"""The embedded broker (kombu's filesystem transport) with messages that appear whole.

kombu writes a message by creating its file and then writing to it, so a worker listing the
folder at that moment can open the empty file, fail to decode it and stop consuming (seen
with `make run`: a backorder never allocated). Here a message is written under a name the
worker does not read and then renamed into place: `os.replace` on one filesystem is atomic,
so a worker sees no file or the whole message.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import filesystem as kombu_filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(kombu_filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"  # does not end in ".msg": the worker passes it over
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(kombu_filesystem.Transport):
    Channel = Channel


def use_for_filesystem_urls() -> None:
    """Every `filesystem://` connection of this process uses this transport."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
