"""驻村工作队: the work teams of the villages and the villages' check-in areas."""
