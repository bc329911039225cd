"""The blueprints of the transfer in's page (with its templates) and API: the kind declares them, views.py and
api.py add the routes."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

pages = Blueprint("transfer_in", __name__, url_prefix="/orders", template_folder="templates")
api = ApiBlueprint(
    "api_transfer_in",
    __name__,
    url_prefix="/api/v1/orders",
    description="Transfer from another university: the incoming student and the transcript.",
)
