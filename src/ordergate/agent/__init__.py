"""Assistant access (MCP): tools that explain a store and prepare a cart, and never place an order."""
