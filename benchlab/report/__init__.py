"""The report stage: statistics, the leaderboard, its views, and their renderings."""
