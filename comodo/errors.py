"""The one exception users see: a one-line message naming the file or value and what was expected."""


class ComodoError(Exception):
    """Bad input or a bad setting. The CLI prints ``comodo: error: <message>`` and exits with 2."""


def check(condition: bool, message: str) -> None:
    """Raise :class:`ComodoError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ComodoError(message)
