"""A tiny shop back end."""
