"""The corrections have no pages of their own: this blueprint carries their template, the "Correct this order" panel
the page of every signed order shows."""

from flask import Blueprint

pages = Blueprint("corrections", __name__, template_folder="templates")
