"""Accounts: guest-to-account conversion, verification codes, sessions, passkeys, loyalty points."""
