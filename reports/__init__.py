"""Read-only reports on the timeline and the orders: the dashboard of the registrar head and the rector."""
