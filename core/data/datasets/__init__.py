"""One loader module per public dataset; :mod:`core.data.registry` maps names to them."""
