"""Prometheus text exposition of the gateway's counters (no client library needed)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping

#: A gauge's value, or its values by label set (``'team="T1"'``: one line each).
Reading = float | Mapping[str, float]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out, total = [], 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            total += n
            out.append(f'{name}_bucket{{le="{bound}"}} {total}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {self.sum}")
        out.append(f"{name}_count {self.count}")
        return out


class Metrics:
    def __init__(self) -> None:
        self.request_seconds = Histogram()
        self.requests = 0
        self.errors: dict[int, int] = {}  # HTTP status >= 400 -> count
        self.ws_messages_sent = 0
        self.ws_closed_slow = 0
        # the history archive (gateway/service/archive.py): what serving old history costs
        self.archive_folds = 0  # folds started from seq 1 (a page the cursor could not continue)
        self.archive_records_folded = 0
        self.archive_pages = 0  # pages served from the archive, REST and WebSocket
        # a replay's seeks (gateway/web/dashboard.py, Seeks): the most in the server at
        # once, folding or waiting, and those refused for want of a place
        self.replay_seeks_most = 0
        self.replay_seeks_refused = 0

    def observe_request(self, seconds: float, status: int) -> None:
        self.requests += 1
        self.request_seconds.observe(seconds)
        if status >= 400:
            self.errors[status] = self.errors.get(status, 0) + 1

    def render(self, gauges: dict[str, tuple[str, Callable[[], Reading]]]) -> str:
        """``gauges``: metric name -> (help, read value); then the request metrics."""
        lines: list[str] = []
        for name, (help_text, read) in gauges.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            value = read()
            if isinstance(value, Mapping):
                lines += [f"{name}{{{labels}}} {v}" for labels, v in value.items()]
            else:
                lines.append(f"{name} {value}")
        lines += [
            "# HELP tradepit_http_requests_total HTTP requests answered.",
            "# TYPE tradepit_http_requests_total counter",
            f"tradepit_http_requests_total {self.requests}",
            "# HELP tradepit_http_errors_total HTTP answers with a 4xx or 5xx status.",
            "# TYPE tradepit_http_errors_total counter",
            *(
                f'tradepit_http_errors_total{{status="{s}"}} {n}'
                for s, n in sorted(self.errors.items())
            ),
            "# HELP tradepit_http_request_seconds HTTP request latency.",
            "# TYPE tradepit_http_request_seconds histogram",
            *self.request_seconds.lines("tradepit_http_request_seconds"),
        ]
        return "\n".join(lines) + "\n"
