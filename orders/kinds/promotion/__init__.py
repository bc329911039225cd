"""Year-end course promotion and the repeat year, with the promotion's bulk drafting, pages and API.

One folder for both: the repeat year is what a refused promotion turns into. Both read the same academic standing of
the year (`promotion.py`: curriculum, debts, GPA, earlier repeat years), and the promotion's split moves its refused
lines into a repeat-year draft (and an expulsion draft, by the expulsion kind's name).
"""

from orders.kinds.promotion import api, views  # noqa: F401 (their routes join the blueprints the kinds declare)
