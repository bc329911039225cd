"""Orders and their lines, one module per order kind, numbering, documents, drafting views."""
