"""消息模板: what a message says, per channel, with the provider's template code."""
