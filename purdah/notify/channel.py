"""The e-mail channel of the outbox: one SMTP attempt per delivery (purdah.notify.smtp).

The message was composed when the notice was planned and travels in the event, so every
retry sends the same message with the same Message-ID (derived from the notice's key);
`X-Purdah-Event` carries the outbox event id, the idempotency key the webhooks use too.
"""

from __future__ import annotations

import json

from purdah.notify.settings import MailSettings
from purdah.notify.smtp import build_message, send
from purdah.outbox.dispatch import Item, Outcome

CHANNEL = "email"


class EmailChannel:
    name = CHANNEL

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, target: str, item: Item) -> Outcome:
        try:
            data = json.loads(item.event.data or "{}")
            subject, body, message_id = data["subject"], data["body"], data["message_id"]
        except (ValueError, KeyError) as exc:
            return Outcome(False, error=f"not an e-mail notice event ({exc})", final=True)
        message = build_message(
            self.settings,
            target,
            subject,
            body,
            message_id,
            item.event.recorded_at,
            data.get("notice_key", ""),
            data.get("reply_to"),
        )
        message["X-Purdah-Event"] = item.key
        sent = send(self.settings, message)
        return Outcome(sent.ok, sent.code or (250 if sent.ok else None), sent.error, sent.final)

    def close(self) -> None:
        """Nothing held between attempts (one connection per message)."""
