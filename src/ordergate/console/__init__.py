"""The operator console: server-rendered pages under /admin, signed in with a store's operator key."""
