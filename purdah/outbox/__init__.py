"""What goes out: outbox events written with the changes they describe, delivery lanes,
the dispatcher that claims and sends them, and the webhook channel (Standard Webhooks).

events     record events and their deliveries inside a write transaction
dispatch   claim lanes, send through a channel, retry, dead-letter (own short writes)
webhooks   the webhook channel: endpoint rules, signing, one HTTP attempt
payload    the versioned JSON an event becomes (schema: webhook-payload.schema.json)

See OUTBOX_NOTES.md at the repository root for how another channel plugs in.
"""
