"""The training side's one error type for mistakes the user can fix (shown as one line, exit 2)."""


class UsageError(Exception):
    """A problem with the command line or the data that the user can fix; shown as one line."""
