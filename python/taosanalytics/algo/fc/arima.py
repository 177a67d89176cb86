"""`pmdarima`: automatic (seasonal) ARIMA through pmdarima's `auto_arima`.

This was `arima` until the anode grew its own (native, faster, bounded in
memory: anode/src/algo/fc/autoarima.rs); it stays for users who want
pmdarima's exact numbers (upstream TDgpt's `arima` is this library).

Option names are upstream's (`start_p`, `max_p`, `start_q`, `max_q`,
`period`), plus `d` and `D` to pin the differencing orders. Two upstream
defaults are fixed (spec §5.2): upstream set `max_p = max_q = 0` whenever the
option was absent, so the search collapsed to a random walk, ARIMA(0,1,0);
here the search space is what `/list` shows. And upstream passed `conf`
(0.95) as pmdarima's `alpha`, giving a 5 % interval; here the interval is the
`conf` one (alpha = 1 - conf). `d` and `D` are chosen by unit-root tests
(KPSS, OCSB) unless given; upstream fixed d = 1, D = 0.
"""

import numpy as np
import pmdarima as pm

from taosanalytics.service import AbstractForecastService

MAX_INPUT_ROWS = 3000


def _int_option(params, key, default, low=0):
    text = params.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"invalid value of {key}: {text}, an integer is expected") from None
    if value < low:
        raise ValueError(f"invalid value of {key}: {value}, should be >= {low}")
    return value


class _ArimaService(AbstractForecastService):
    name = "pmdarima"
    desc = "do time series data fc by using ARIMA model (pmdarima auto_arima)"

    def __init__(self):
        super().__init__()
        self.start_p = 0
        self.max_p = 5
        self.start_q = 0
        self.max_q = 5
        self.d = None
        self.seasonal_d = None

    def set_params(self, params):
        super().set_params(params)
        self.start_p = _int_option(params, "start_p", 0)
        self.max_p = _int_option(params, "max_p", 5)
        self.start_q = _int_option(params, "start_q", 0)
        self.max_q = _int_option(params, "max_q", 5)
        if self.start_p > self.max_p:
            raise ValueError(f"start_p ({self.start_p}) should not be larger than max_p ({self.max_p})")
        if self.start_q > self.max_q:
            raise ValueError(f"start_q ({self.start_q}) should not be larger than max_q ({self.max_q})")
        self.d = _int_option(params, "d", None)
        self.seasonal_d = _int_option(params, "D", None)

    def get_params(self):
        p = super().get_params()
        p.update({"start_p": self.start_p, "max_p": self.max_p, "start_q": self.start_q,
                  "max_q": self.max_q, "d": "auto", "D": "auto"})
        return p

    def execute(self):
        x = np.asarray(self.list, dtype=float)
        if len(x) > MAX_INPUT_ROWS:
            raise ValueError("number of input data is too large")
        if len(x) < self.period:
            raise ValueError("number of input data is less than the periods")
        seasonal = self.period > 1
        model = pm.auto_arima(
            x,
            start_p=self.start_p, max_p=self.max_p,
            start_q=self.start_q, max_q=self.max_q,
            d=self.d, start_P=0,
            D=self.seasonal_d if seasonal else 0,
            seasonal=seasonal, m=self.period if seasonal else 1,
            stepwise=True, suppress_warnings=True, error_action="ignore",
        )
        if self.return_conf:
            fc, ci = model.predict(n_periods=self.rows, return_conf_int=True, alpha=1.0 - self.conf)
            res = [self.result_ts_list(), np.asarray(fc).tolist(), ci[:, 0].tolist(), ci[:, 1].tolist()]
        else:
            fc = model.predict(n_periods=self.rows)
            res = [self.result_ts_list(), np.asarray(fc).tolist()]
        return {
            "res": res,
            "mse": float(model.arima_res_.mse),
            "model_info": f"SARIMAX{model.order}x{model.seasonal_order}",
        }
