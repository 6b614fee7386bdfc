"""身份: users, roles and region scope; tokens the services verify; API keys; sign-in audit."""
