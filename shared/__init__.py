"""Plumbing the filet services share: settings, events, outbox/inbox, Kafka bus, auth, money, db. No business rule."""
