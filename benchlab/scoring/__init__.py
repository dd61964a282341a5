"""Scoring trial records: rubrics, judges, deterministic graders, agreement."""
