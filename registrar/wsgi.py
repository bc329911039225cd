"""WSGI entry point for gunicorn: `gunicorn -w 4 'registrar.wsgi:app'`."""

from registrar.app import create_app

app = create_app()
