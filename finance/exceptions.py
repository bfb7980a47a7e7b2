from django.core.exceptions import ValidationError


class ActionNotAllowed(ValidationError):
    """The action's prerequisites do not hold (the message says which); nothing was changed."""
