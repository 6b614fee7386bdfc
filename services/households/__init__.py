"""帮扶户: precise records of the households under assistance."""
