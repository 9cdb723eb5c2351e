"""Errors a user can fix: the CLI prints them as one line and exits 2."""


class UserError(ValueError):
    """Bad input (name, value, file) with a message that says how to fix it."""


class DataError(UserError):
    """Missing, truncated or corrupt data, or a dataset that needs a download while offline."""
