"""预警: which event alerts whom, with which template, by which channels (data, not code)."""
