"""``./scripts/bench verify``: ``replay verify`` throughput, in events per second, and
what scoring adds to it.

A session is recorded in process (the real core and market, house and retail flow on,
a tick per command batch, one bot team of each role registered so every tick samples
scores), written to a log, then verified from disk. In the same run the scorer folds
the same records (decoded beforehand, as verify decodes them itself): verify's rate
with and without the scorer's time is the issue's "at most 10% more".
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from benchmarks._support import record_session
from engine import log as logmod
from engine.records import ROLES, Command, RegisterTeam
from engine.replay.verify import verify


def _score_seconds(directory: Path) -> float:
    from gateway.scoring import Scorer

    with logmod.open_reader(directory) as reader:
        records = list(reader.read(1))
    best = float("inf")
    for _ in range(3):  # the best of three: the machine is shared
        scorer = Scorer()
        apply = scorer.apply
        started = time.perf_counter()
        for record in records:
            apply(record)
        best = min(best, time.perf_counter() - started)
    return best


def run(quick: bool) -> dict[str, object]:
    ticks = 300 if quick else 2000
    bots: list[Command] = [
        RegisterTeam(team_name=f"bot-{r}", role=r, api_key_hash=f"h-{r}") for r in ROLES
    ]
    with tempfile.TemporaryDirectory(prefix="tradepit-verify-") as tmp:
        records = record_session(Path(tmp), ticks, bots)
        out = io.StringIO()
        started = time.perf_counter()
        code = verify(Path(tmp), out=out, err=io.StringIO())
        elapsed = time.perf_counter() - started
        scoring = _score_seconds(Path(tmp))
    assert code == 0, out.getvalue()
    figures: dict[str, object] = {
        "ticks": ticks,
        "records": records,
        "verify_seconds": round(elapsed, 2),
        "verify_records_per_s": round(records / elapsed),
        "score_seconds": round(scoring, 3),
        "score_records_per_s": round(records / scoring),
        "verify_and_score_records_per_s": round(records / (elapsed + scoring)),
        "scoring_adds": round(scoring / elapsed, 3),
        "target_events_per_s": 100_000,
    }
    print(out.getvalue().strip())
    for key, value in figures.items():
        print(f"{key:<32}{value:>14}")
    return figures
