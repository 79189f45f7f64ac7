"""Scoring: a pure fold of the log into standings (docs/scoring.md), beside the projection."""

from gateway.scoring.fold import Scorer as Scorer
from gateway.scoring.views import figures as figures
from gateway.scoring.views import leaderboard as leaderboard
from gateway.scoring.views import ranks as ranks
from gateway.scoring.views import rows as rows
from gateway.scoring.views import team_score as team_score
from gateway.scoring.views import update as update
