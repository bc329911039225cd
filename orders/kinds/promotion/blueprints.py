"""The blueprints of the year-end promotion's pages (with their templates) and API: the kinds declare them,
views.py and api.py add the routes."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

pages = Blueprint("promotion", __name__, url_prefix="/orders/promotion", template_folder="templates")
api = ApiBlueprint(
    "api_promotion",
    __name__,
    url_prefix="/api/v1/promotion",
    description="Year-end course promotion in bulk: draft for a scope, outcomes, refused into drafts.",
)
