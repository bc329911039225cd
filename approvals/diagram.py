"""The route of an order as a picture, generated from the live definition of its route version.

`mermaid()` asks `transitions`' own diagram support (the Mermaid backend, no graphviz needed) for the state
diagram of the route's machine; `svg()` draws the same route server-side as inline SVG (no JavaScript, no CDN):
one box per state on the way to signature, the current one highlighted, those passed shown as done.
"""

from functools import lru_cache
from html import escape

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from transitions.extensions.diagrams import GraphMachine

from core.labels import label
from workflow.engine import machine_for
from workflow.routes import Route, Step

ENDED = ("rejected", "withdrawn")


class _Model:
    """A stand-in subject for the diagram machine: never an order, and never moved."""

    state = "draft"


def step_title(step: Step) -> str:
    """e.g. "Dean (one per faculty)", "Registrar", "Lawyer, finance officer (2 of them)"."""
    roles = ", ".join(label(r) for r in step.roles)
    roles = roles[:1].upper() + roles[1:]
    if step.mode == "per_faculty":
        return _("%(roles)s (one per faculty)", roles=roles)
    if step.mode == "n_of_m":
        return _("%(roles)s (%(n)s of them)", roles=roles, n=step.n)
    return roles


def boxes(route: Route) -> list[tuple[str, str, str]]:
    """(state, title, subtitle) for each state on the way to signature, in order."""
    items = [("draft", label("draft").capitalize(), _("author, clerk"))]
    for step in route.steps:
        items.append(
            (step.state, step_title(step), ngettext("%(num)s working day", "%(num)s working days", step.due_days))
        )
    signer = label(route.signer_role)
    items.append(
        (
            "awaiting_signature",
            label("awaiting_signature").capitalize(),
            ngettext("%(who)s, %(num)s working day", "%(who)s, %(num)s working days", route.sign_due_days, who=signer),
        )
    )
    items.append(("signed", label("signed").capitalize(), _("number, effects, document")))
    return items


def progress(route: Route, current_state: str) -> dict[str, str]:
    """Each box's status: done, current or todo."""
    order = [state for state, _title, _sub in boxes(route)]
    if current_state == "signed":
        return {state: "done" for state in order}
    index = order.index(current_state) if current_state in order else -1
    return {state: "done" if i < index else "current" if i == index else "todo" for i, state in enumerate(order)}


def mermaid(route: Route, current_state: str) -> str:
    """Mermaid `stateDiagram-v2` text of the route's machine, with the current state highlighted."""
    return _mermaid(route, current_state, str(get_locale()))


@lru_cache(maxsize=512)
def _mermaid(route: Route, current_state: str, _language: str) -> str:
    live = machine_for(route)  # the machine every order on this route version runs on
    transitions = []
    for trigger, event in live.events.items():
        for source, found in event.transitions.items():
            for transition in found:
                if transition.dest is None:  # a visa that leaves the step waiting for more visas
                    continue
                transitions.append({"trigger": trigger, "source": source, "dest": transition.dest})
    model = _Model()
    machine = GraphMachine(
        model=model,
        states=list(live.states),
        transitions=transitions,
        initial="draft",
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{route.name} v{route.version}",
        show_conditions=False,
    )
    graph = machine.model_graphs[id(model)]
    graph.reset_styling()
    for state, status in progress(route, current_state).items():
        if status == "done":
            graph.set_node_style(state, "previous")
    if current_state in live.states:
        graph.set_node_style(current_state, "active")
    text = graph.get_graph(f"{route.name} v{route.version}").draw(None)
    titles = {state: title for state, title, _sub in boxes(route)}
    titles.update({state: label(state).capitalize() for state in ENDED})
    for state, title in titles.items():
        text = text.replace(f'state "{state}" as {state}', f'state "{title.replace(chr(34), chr(39))}" as {state}')
    return text


WIDTH, BOX_W, BOX_H, GAP, TOP = 340, 300, 54, 26, 10


def svg(route: Route, current_state: str) -> str:
    """The route as a self-contained SVG: a column of boxes joined by arrows; the current box highlighted, those
    passed marked done; an ended order (rejected, withdrawn) gets a last box saying so."""
    items = boxes(route)
    status = progress(route, current_state)
    if current_state in ENDED:
        items.append((current_state, label(current_state).capitalize(), ""))
        status[current_state] = "ended"
    height = TOP * 2 + len(items) * BOX_H + (len(items) - 1) * GAP
    x = (WIDTH - BOX_W) // 2
    title_text = escape(_("Route of the order"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="route-diagram" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{title_text}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6577"/></marker></defs>',
    ]
    for i, (state, title, subtitle) in enumerate(items):
        y = TOP + i * (BOX_H + GAP)
        kind = status.get(state, "todo")
        mark = {"done": "✓ ", "current": "▶ ", "ended": "✕ "}.get(kind, "")
        current = ' aria-current="step"' if kind in ("current", "ended") else ""
        parts.append(
            f'<g class="node {kind}" data-state="{escape(state)}"{current}>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" ry="8"/>'
            f'<text x="{WIDTH // 2}" y="{y + 23}" text-anchor="middle" class="title">'
            f"{escape(mark + title)}</text>"
            f'<text x="{WIDTH // 2}" y="{y + 42}" text-anchor="middle" class="sub">{escape(subtitle)}</text>'
            "</g>"
        )
        if i < len(items) - 1:
            y1, y2 = y + BOX_H, y + BOX_H + GAP
            parts.append(
                f'<line x1="{WIDTH // 2}" y1="{y1}" x2="{WIDTH // 2}" y2="{y2 - 2}" class="edge" '
                f'marker-end="url(#arrow)"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
