"""The blueprints of the state scholarship's pages (with their templates) and API: the kind declares them,
views.py and api.py add the routes."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

pages = Blueprint("scholarship", __name__, url_prefix="/orders/scholarship", template_folder="templates")
api = ApiBlueprint(
    "api_scholarship",
    __name__,
    url_prefix="/api/v1/scholarship",
    description="State scholarship per semester in bulk: draft for faculties and courses, outcomes.",
)
