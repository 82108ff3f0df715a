"""Payments: providers turn orders into instructions and evidence into payment records."""
