"""Shipped YAML recipes of the paper's four runs (docs/specification.md §7): `spy-align METHOD --config PATH`."""
