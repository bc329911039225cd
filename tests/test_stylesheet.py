"""The stylesheet stays well-formed: an unclosed block swallows every rule after it (a merge once left the print
rules open, and on a phone the verification page's help text then covered its upload button)."""

from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"


def test_every_block_of_every_stylesheet_is_closed():
    for path in STATIC.glob("*.css"):
        depth = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            depth += line.count("{") - line.count("}")
            assert depth >= 0, f"{path.name}:{number}: a block closed that was never opened"
        assert depth == 0, f"{path.name}: {depth} block(s) never closed"
