"""Server-rendered buyer pages."""
