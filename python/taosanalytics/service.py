"""The base classes of analysis algorithms, under upstream's 3.3.x import path
`taosanalytics.service` (spec §6.1). A plugin is a class whose name starts
with `_`, deriving from one of the abstract services below, with `name`,
`desc`, `set_params` and `execute`.
"""

from abc import ABC, abstractmethod


class AnalyticsService(ABC):
    """The root of every service."""

    @abstractmethod
    def execute(self):
        """Run the algorithm on the input set before."""

    def get_desc(self):
        return ""

    def get_params(self):
        return {}

    def get_status(self):
        return "READY"


class AbstractAnalyticsService(AnalyticsService, ABC):
    name = ""
    desc = ""

    def __init__(self):
        self.list = None
        self.ts_list = None

    def set_input_list(self, input_list, input_ts_list=None):
        self.list = input_list
        self.ts_list = input_ts_list

    def set_params(self, params):
        if params is None:
            return
        if not isinstance(params, dict):
            raise ValueError("invalid parameter type, only dict allowed")

    def get_desc(self):
        return self.desc


class AbstractAnomalyDetectionService(AbstractAnalyticsService, ABC):
    """`execute()` returns one int per input value; `valid_code` (1) is normal."""

    def __init__(self):
        super().__init__()
        self.type = "anomaly-detection"
        self.valid_code = 1

    def input_is_empty(self):
        return self.list is None or len(self.list) == 0

    def set_params(self, params):
        super().set_params(params)
        if params is not None and "valid_code" in params:
            self.valid_code = int(params["valid_code"])


class AbstractForecastService(AbstractAnalyticsService, ABC):
    """`execute()` returns `{"res": [ts, forecast, (lower, upper)], "mse": ...}`."""

    def __init__(self):
        super().__init__()
        self.type = "forecast"
        self.period = 0
        self.start_ts = 0
        self.time_step = 0
        self.rows = 0
        self.return_conf = 1
        self.conf = 0.95
        self.precision = "ms"
        self.past_dynamic_real = []
        self.dynamic_real = []

    def set_input_data(self, input_list, input_ts_list=None, past_dynamic_real=None, dynamic_real=None):
        self.list = input_list
        self.ts_list = input_ts_list
        self.past_dynamic_real = past_dynamic_real or []
        self.dynamic_real = dynamic_real or []

    def set_params(self, params):
        super().set_params(params)
        params = params or {}
        if not {"start_ts", "time_step", "rows"}.issubset(params.keys()):
            raise ValueError("params are missing, start_ts, time_step, rows are all required")
        self.start_ts = int(params["start_ts"])
        self.time_step = int(params["time_step"])
        if self.time_step <= 0:
            raise ValueError("time_step should be greater than 0")
        self.rows = int(params["rows"])
        if self.rows <= 0:
            raise ValueError("forecast rows is not specified yet")
        self.period = int(params.get("period", 0))
        if self.period < 0:
            raise ValueError("periods should be greater than 0")
        self.conf = float(params.get("conf", 0.95))
        if self.conf < 0 or self.conf >= 1.0:
            raise ValueError("invalid value of conf, should between 0 and 1.0")
        self.return_conf = int(params.get("return_conf", 1))
        self.precision = params.get("precision", "ms")

    def get_params(self):
        return {"period": self.period, "start": self.start_ts, "every": self.time_step,
                "forecast_rows": self.rows, "return_conf": self.return_conf, "conf": self.conf}

    def result_ts_list(self):
        """`[start_ts + i * time_step for i in range(rows)]`, the forecast's timestamps."""
        return [self.start_ts + i * self.time_step for i in range(self.rows)]


class AbstractImputationService(AbstractAnalyticsService, ABC):
    """3.3.7 imputation base; importable, not yet served from Python."""

    def __init__(self):
        super().__init__()
        self.type = "imputation"

    def set_input_data(self, input_list, input_ts_list=None):
        self.list = input_list
        self.ts_list = input_ts_list

    def get_params(self):
        return {"dummy": "dummy"}


class AbstractCorrelationService(AbstractAnalyticsService, ABC):
    """3.3.7 correlation base; importable, not yet served from Python."""

    def __init__(self):
        super().__init__()
        self.type = "correlation"
        self.list1 = None

    def set_second_input_data(self, list1):
        self.list1 = list1
