"""Funnel numbers: guest completion rate, conversion, order value, drop-off, time to complete."""
