"""Team names that imitate another team: decided here, in the core.

A name is shown on the leaderboard, the dashboard and in every trade a spectator sees,
so ``TEAM_0001`` (a team id) or ``Аlpha`` with a Cyrillic ``А`` (another team's name)
lets one student pass for another (issue 38, item 7). The core decides, so the rule is
a function of the log like every other: a refused name is a ``command_rejected`` in the
log, the same on every gateway and in every replay.

``skeleton`` is what two names must not share: NFKC (fullwidth, ligatures, styled
letters), casefold, the Cyrillic and Greek letters that look like Latin ones mapped to
them, the digits and letters that look alike (0/o, 1/l/i) made one, and separators
dropped (``alpha-team`` is ``Alpha Team``). A small map of our own rather than a
dependency: Unicode's full confusables table is 6,000 pairs, and these are the scripts
a keyboard offers students; what it misses is a name an organiser can disable.
"""

from __future__ import annotations

import re
import unicodedata

# lower case only: applied after casefold
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ү": "y", "ғ": "f",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "σ": "o",
    "ς": "c", "μ": "u",
}  # fmt: skip
_LATIN = str.maketrans(_LOOKALIKES)
# after the scripts are Latin: the characters one font draws like another
_ALIKE = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "$": "s"})
_SEPARATORS = re.compile(r"[\W_]+")
#: ``team`` then a number: ``TEAM_0001``, ``team 1``, ``Team-O0O7``, ``TEAM٠٠٠١``
#: (at least one digit: ``Team Oil`` is a name)
_TEAM_ID = re.compile(r"t[\W_]*e[\W_]*a[\W_]*m[\W_]*(?=[oli|]*\d)(?:\d|[oli|])+")


def _latin(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().translate(_LATIN)


def skeleton(name: str) -> str:
    """What two team names must not share."""
    return _SEPARATORS.sub("", _latin(name).translate(_ALIKE))


def imitates_team_id(name: str) -> bool:
    """Whether ``name`` reads as a team id (``TEAM_0001``-like)."""
    latin = _SEPARATORS.sub(" ", _latin(name)).strip()
    return _TEAM_ID.fullmatch(latin) is not None
