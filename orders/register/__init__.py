"""The scholarship register: every month's payments derived from the signed orders of the kinds that pay money
(`OrderKind.pays`), with its page, XLSX export and API. Not an order kind: it reads the paying kinds from the
registry."""
