"""Stage 2: cells x agents x tasks x repeats, each trial recorded exactly once."""
