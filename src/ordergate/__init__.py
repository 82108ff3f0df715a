"""ordergate: guest checkout and governed order intake for stores."""

__version__ = "0.1.0"
