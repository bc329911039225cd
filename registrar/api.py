"""The JSON API under /api/v1, with its OpenAPI document at /api/v1/openapi.json."""

from flask import Flask
from flask_smorest import Api


def init_api(app: Flask) -> Api:
    app.config.update({
        "API_TITLE": "Registrar API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    })
    api = Api(app)
    return api
