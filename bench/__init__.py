"""Load driver and benchmark runner for ordergate (`make bench`)."""
