"""Bought-together suggestions and relevance search, from the store's own order history."""
