"""One team paging its old history cannot starve another team's page, in a real gateway
(issue 38, item 8; issue 22 asks for it with real processes).

A scored day's log with two idle teams is written to disk and a real ``tradepit
gateway`` over it keeps each team's last ``HISTORY`` messages, so anything older is
served by the archive, a fold of the log from seq 1 (``gateway/service/archive.py``)
at its default pace. Team A asks ``PAGES`` times at once for the same page just older
than memory: each is a fold of nearly the whole log (a page continues a kept fold only
from where that fold's page ended, so the same page again folds from seq 1). Once
``/metrics`` shows all of them in A's queue (``tradepit_archive_pages_queued``), team
B asks once for a page as old.

The archive serves teams in turn, a chunk of fold each, and a team's pages one at a
time: B's page folds beside the A page under way, and is answered before every other
A page. A single queue of pages answered B after all of A's. Orders, not clocks: the
test compares the order in which the answers came.

After: ``A0 B A1 ... A7`` (B second, behind the page folding when it asked), 9 folds
of the log, ~8 s. Before the fix (34d8524^'s one lock a page, put back in place of the
per-team turns): ``A0 A1 ... A7 B``, B's answer 9th of 9.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from tests.chaos.day_log import api_key, running_gateway, scored_day, write_log
from tests.procs import wait_until

TICKS = 4_000  # 12,000 records, of which each page below folds nearly all
HISTORY = 100
PAGES = 8
CONFIG = f"""
[gateway]
events_history = {HISTORY}
"""
A, B = 0, 1  # the teams, by their number in the day: T00000 and T00001


def test_a_teams_old_page_is_not_queued_behind_another_teams_paging(tmp_path: Path) -> None:
    session = tmp_path / "day"
    head = write_log(session / "log", scored_day(2, TICKS))
    with (
        running_gateway(session, tmp_path / "gateway.log", config=CONFIG) as gateway,
        httpx.Client(base_url=gateway.url, headers={"X-API-Key": api_key(A)}, timeout=120) as a,
        httpx.Client(base_url=gateway.url, headers={"X-API-Key": api_key(B)}, timeout=120) as b,
    ):
        gateway.wait_applied(head)
        # just older than memory: the page's one message is made near the log's end
        old = {
            client: client.get("/events?after_seq=1000000000").json()["data"]["last_seq"]
            - 2 * HISTORY
            for client in (a, b)
        }
        answered: list[tuple[str, bool]] = []  # who, and whether it got its page, in order

        def ask(client: httpx.Client, name: str) -> None:
            answer = client.get(f"/events?after_seq={old[client]}&limit=1")
            messages = answer.json()["data"]["messages"] if answer.is_success else []
            answered.append((name, [m["seq"] for m in messages] == [old[client] + 1]))

        asking = [threading.Thread(target=ask, args=(a, f"A{i}")) for i in range(PAGES)]
        for thread in asking:
            thread.start()
        queued = 'tradepit_archive_pages_queued{team="T00000"}'
        wait_until(lambda: gateway.metrics().get(queued) == PAGES, 60, "A's pages in its queue")
        asking.append(threading.Thread(target=ask, args=(b, "B")))
        asking[-1].start()
        for thread in asking:
            thread.join(120)
        metrics = gateway.metrics()
    order = [name for name, _ in answered]
    print(f"answers in the order they came: {' '.join(order)}; "
          f"{metrics['tradepit_archive_folds_total']:.0f} folds of the log, "
          f"{metrics['tradepit_archive_records_folded_total']:.0f} records")  # fmt: skip
    assert sorted(order) == [*(f"A{i}" for i in range(PAGES)), "B"]
    assert all(right for _, right in answered)
    # B's page waited for the A page folding when it asked, at most, not for A's queue
    assert order.index("B") <= 1
    assert metrics["tradepit_archive_folds_total"] == PAGES + 1  # each page a whole fold
    assert not any(name.startswith("tradepit_archive_pages_queued") for name in metrics)
