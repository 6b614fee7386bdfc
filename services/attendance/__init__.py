"""考勤: keeps the cadres in the villages."""
