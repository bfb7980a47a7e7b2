"""The demo's data: `manage.py seed_demo`, run by `make run`."""
