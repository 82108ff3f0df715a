"""Guest checkout sessions: cart, contact, delivery, expiry, resume."""
