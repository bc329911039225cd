"""A small signing started while a big one is under way: does it wait for the big one?

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench \\
        python -m bench.concurrent_sign --students 20000 [--small 200] [--delay 1.0]

The database is wiped and migrated. Expulsion orders are drafted through `orders.operations` and taken through every
visa (as `bench.sign_expulsion` does): a big one of N lines and three small ones of S lines. Then:

- alone: two small orders are signed with nothing else running (`fire(order, "sign")` and the commit, timed; the
  better of the two counts).
- concurrent: the big order's signing starts in a process of its own (its own connection, as another gunicorn worker
  would; a thread would share the GIL with the small one); `--delay` seconds after it reports progress 0.2 (past
  the eligibility re-check of every line, writing the effects: code that takes the number first has taken it), the
  third small order is signed in the main process, timed the same way.

Signing takes the year's gapless number in a row lock held until the commit: the small signing's latency shows
whether it waited for the big one's transaction. Also printed: the big signing's time and how long its last step
held the number (from its `operations.NUMBERING_AT` progress report to the commit; absent in code that takes the
number first), the numbers each order got, and the outbox context's size per row (bytes of JSON). The last line is
one JSON object: {"bench": "concurrent_sign", "n": N, "small": S, "alone_s": ..., "concurrent_s": ...,
"ratio": concurrent / alone, ...}.
"""

import argparse
import json
import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from sqlalchemy import text

from bench.common import QueryCounter, sign_ours
from bench.generate import database_url, generate, make_app, wiped_app
from bench.sign_expulsion import prepare
from core.db import db
from core.models import create_user
from core.progress import listening
from orders import operations

EFFECTS_AT = 0.2  # the progress signing reports once past the eligibility re-check, writing the records


def sign_big(url: str, order_id: int, rector_id: int, effects: Event, times: Queue) -> None:
    """The big order's signing in a process of its own (as another gunicorn worker would: no GIL shared with the
    small one): sets `effects` when it reports `EFFECTS_AT`, then puts (started, numbering or 0, ended) on `times`."""
    app = make_app(url)
    marks = {"numbering": 0.0}

    def progress(fraction: float) -> None:
        if fraction == EFFECTS_AT:
            effects.set()
        if fraction == getattr(operations, "NUMBERING_AT", None):
            marks["numbering"] = time.perf_counter()

    with app.app_context():
        started = time.perf_counter()
        with listening(progress):
            sign_ours(order_id, rector_id, QueryCounter())
        times.put((started, marks["numbering"], time.perf_counter()))


def outbox_bytes(order_id: int) -> float:
    """Mean bytes of JSON context per outbox row written for the order's students."""
    return db.session.scalar(
        text(
            "SELECT avg(octet_length(m.context::text)) FROM outbox_messages m "
            "JOIN students s ON s.email = m.recipient JOIN order_lines l ON l.student_id = s.id "
            "WHERE l.order_id = :order"
        ),
        {"order": order_id},
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20000, help="lines in the big order (N)")
    parser.add_argument("--small", type=int, default=200, help="lines in each small order (S)")
    parser.add_argument(
        "--delay",
        type=float,
        default=1.0,
        help="seconds after the big signing starts its effects that the small one starts",
    )
    args = parser.parse_args(argv)
    n, s = args.students, args.small
    with wiped_app():
        counter = QueryCounter()
        started = time.perf_counter()
        chunks = -(-n // s)  # cohorts of S students: the big order takes the first N, each small one a cohort more
        uni = generate(s, cohorts=chunks + 3)
        approvers = [
            create_user("registrar", "bench", "Регистратор", ["registrar"]),
            create_user("lawyer", "bench", "Юрист", ["lawyer"], position="Юрист"),
        ]
        db.session.commit()
        approver_ids = [user.id for user in approvers]
        big_students = [student for cohort in uni.cohorts[:chunks] for student in cohort][:n]
        print(f"generate   {time.perf_counter() - started:8.3f} s  ({n} + 3 x {s} students)")
        started = time.perf_counter()
        big_id = prepare(uni, big_students, counter, approver_ids)[0]
        alone_ids = [prepare(uni, uni.cohorts[chunks + k], counter, approver_ids)[0] for k in (0, 1)]
        small_id = prepare(uni, uni.cohorts[chunks + 2], counter, approver_ids)[0]
        print(f"prepare    {time.perf_counter() - started:8.3f} s  (draft, check, submit and visas of the 4 orders)")

        alone = []
        for alone_id in alone_ids:
            alone.append(sign_ours(alone_id, uni.rector_id, counter)[0])
            db.session.remove()
        alone_s = min(alone)
        print(f"alone      {alone_s:8.3f} s  (best of two small orders of {s} lines signed with nothing else running)")

        spawn = multiprocessing.get_context("spawn")
        effects, times = spawn.Event(), spawn.Queue()
        big = spawn.Process(target=sign_big, args=(database_url(), big_id, uni.rector_id, effects, times))
        big.start()
        if not effects.wait(3600):
            raise SystemExit("the big signing never reached its effects")
        time.sleep(args.delay)
        small_started = time.perf_counter()
        concurrent_s, _queries = sign_ours(small_id, uni.rector_id, counter)
        small_ended = time.perf_counter()
        db.session.remove()
        big_started, numbering, big_ended = times.get(timeout=3600)
        big.join()
        big_s = big_ended - big_started
        final_s = big_ended - numbering if numbering else None
        print(
            f"concurrent {concurrent_s:8.3f} s  (the third small order, started {small_started - big_started:.2f} s "
            f"into the big signing, done {'before' if small_ended < big_ended else 'after'} the big call returned)"
        )
        print(f"big        {big_s:8.3f} s  (the big order of {n} lines)")
        if final_s is not None:
            print(f"final step {final_s:8.3f} s  (the big signing from taking its number to its commit)")
        numbers = dict(db.session.execute(text("SELECT id, number FROM orders WHERE number IS NOT NULL")).all())
        print(
            f"numbers    alone {[numbers.get(i) for i in alone_ids]}, small {numbers.get(small_id)}, "
            f"big {numbers.get(big_id)}"
        )
        context_bytes = outbox_bytes(big_id)
        print(f"outbox     {context_bytes:8.0f} bytes of context per row (the big order's e-mails)")
        db.session.rollback()
    print(
        json.dumps(
            {
                "bench": "concurrent_sign",
                "n": n,
                "small": s,
                "alone_s": round(alone_s, 4),
                "concurrent_s": round(concurrent_s, 4),
                "big_s": round(big_s, 3),
                "final_step_s": round(final_s, 3) if final_s is not None else None,
                "outbox_bytes_per_row": round(float(context_bytes or 0)),
                "ratio": round(concurrent_s / alone_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
