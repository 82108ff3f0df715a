"""Notifications: the transactional outbox, its delivery by the worker, email and SMS channels."""
