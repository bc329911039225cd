"""Read-only reports: what the timeline and the orders say, shown and exported; nothing here writes."""
