"""通知: festival greetings and alerts, by SMS and WeChat."""
