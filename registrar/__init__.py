"""The top floor: the application factory, blueprints and API assembly, error pages, the CLI."""
