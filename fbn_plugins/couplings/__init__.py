"""The built-in couplings (co, soft, dm); `builtin` registers them."""
