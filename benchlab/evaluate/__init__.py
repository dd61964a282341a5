"""The evaluate stage: a curated dataset version scored by the judges and graders."""
