"""照片: the photos cadres take when they check in, stored once each by their content."""
