# A plugin that fails to import: it must be logged and skipped.
import module_that_does_not_exist  # noqa: F401
