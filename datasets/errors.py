"""The one exception the data-set loaders raise for problems a user can fix."""


class DatasetError(Exception):
    """A data set could not be loaded; str() is one plain sentence naming the file or problem and the fix."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))
