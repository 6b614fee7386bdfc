"""Channels a message can leave by: one adapter per provider (base.Provider)."""
