"""The one error type for problems with what a user gave us (files, annotations, config)."""


class InputError(ValueError):
    """Bad input: the message names the file or value and says what to do about it."""
