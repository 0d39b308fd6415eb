"""Agenda emails before each 1:1, and replies to them that become topics.

The flow: `reminders` picks who gets which agenda, `compose` builds the MIME
message, `outbox` records it before `sending` hands it to a transport.
Inbound, `smtpd` and the web hook store the raw message (`store`) and
`intake` checks it and turns it into topics. `refresh` then brings the
invite up to date. `tenant_settings` reads and changes a tenant's choices,
some of which live in this package's own tables (`models`).
"""
