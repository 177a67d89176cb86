"""Exception types upstream algorithms raise."""


class ModelNotFoundException(Exception):
    pass


class FailedToLoadModel(Exception):
    pass


class InvalidModelName(ValueError):
    pass
