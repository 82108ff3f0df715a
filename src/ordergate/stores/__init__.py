"""Stores: configuration, policies, delivery fields, payment methods, operator keys."""
