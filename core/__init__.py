"""Ground floor: database, configuration, extensions, users, roles and permission primitives."""
