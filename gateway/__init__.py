"""The gateway: one API in front of the services (routing now; identity, dashboards later)."""
