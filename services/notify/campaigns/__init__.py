"""节日问候: greeting campaigns, planned for an audience and sent at their time."""
