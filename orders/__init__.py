"""Orders and their lines: the kind interface and registry, the order core (operations, numbering, documents), the
generic order pages and API, the scholarship register, and every order kind in `orders/kinds/`."""
