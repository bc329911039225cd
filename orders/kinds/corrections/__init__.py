"""Corrections of a signed order: revocation (every item) and amendment (the items chosen), with the drafting helpers
they share (finding the target, its items, one line per reversed item) and the "Correct this order" panel. One
folder for the two: an amendment is a revocation of some items only.
"""
