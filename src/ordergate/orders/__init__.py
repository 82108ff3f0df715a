"""Orders: the order model, its state machine and events, creation, tracking."""
