"""Catalog: products and their stock."""
