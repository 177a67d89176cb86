"""Configuration and logging, the subset of upstream's `taosanalytics.conf`
that algorithm files use: `app_logger.log_inst` and `conf.get_model_directory()`.

The anode's worker fills these in at start-up from `taosanode.ini`; log
records go to the worker's stderr, which the anode writes to its own log.
"""

import logging
import os
import sys


class AppLogger:
    """Upstream plugins log through `app_logger.log_inst.<level>(...)`."""

    LOG_STR_FORMAT = "%(asctime)s - %(threadName)s - %(levelname)s - %(message)s"

    def __init__(self):
        self.log_inst = logging.getLogger("taosanalytics")
        if not self.log_inst.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            self.log_inst.addHandler(handler)
            self.log_inst.setLevel(logging.INFO)
            self.log_inst.propagate = False

    def set_handler(self, _file_path=None):
        """Upstream opened its own log file; ours goes to the anode's log."""

    def set_log_level(self, level):
        self.log_inst.setLevel(getattr(logging, str(level).upper(), logging.INFO))


class Configure:
    """Read-only view of the settings algorithms ask for."""

    def __init__(self):
        self._model_dir = os.path.abspath("models")
        self._tsfm = {}
        self._draw_result = False

    def setup(self, model_dir=None, tsfm_services=None, draw_result=False):
        if model_dir:
            self._model_dir = os.path.abspath(model_dir)
        self._tsfm = dict(tsfm_services or {})
        self._draw_result = bool(draw_result)

    def get_model_directory(self):
        return self._model_dir

    def get_tsfm_service(self, name):
        return self._tsfm.get(name)

    def get_draw_result_option(self):
        return self._draw_result


app_logger = AppLogger()
conf = Configure()


def setup_log_info(_name=None):
    """Upstream configured file logging here; nothing to do in a worker."""
