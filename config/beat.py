"""Every periodic task of Duly, in one place. Entries are added by the apps' issues as they need them."""

SCHEDULE: dict[str, dict] = {}
