"""The blueprints of the ranking pages (with their templates) and API of the three ranked competitions: the
kinds declare them, views.py and api.py add the routes."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

pages = Blueprint("ranking", __name__, url_prefix="/orders/ranking", template_folder="templates")
api = ApiBlueprint(
    "api_ranking",
    __name__,
    url_prefix="/api/v1/ranking",
    description="Competitive orders (vacant grants, President's and personal scholarships): ranking, "
    "bulk additions, the council's ranking list.",
)
