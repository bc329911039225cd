"""The three ranked competitions: the vacant state grant and the President's and personal scholarships.

One folder for the three: they share the ranking page and API (the ranking by competition, the bulk additions, the
council's ranking list as XLSX and DOCX, `ranking_list.py`). The merit and tie rules and the academic facts they rank
by are shared rules below the kinds (`orders.ranking`).
"""

from orders.kinds.competitions import api, views  # noqa: F401 (their routes join the blueprints the kinds declare)
