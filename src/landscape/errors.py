"""The one exception type the CLI turns into a single clear line and a non-zero exit."""


class LandscapeError(Exception):
    """Bad input (config, checkpoint, data file, grid spec...): the message names the culprit."""
