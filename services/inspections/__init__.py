"""督查: finds and closes what is wrong."""
