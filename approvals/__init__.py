"""Who must act on an order, the inbox, and the decision views."""
