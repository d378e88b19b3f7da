"""Shipped YAML recipes reproducing the paper's four runs (SPEC section 7): `spy-align METHOD --config PATH`."""
