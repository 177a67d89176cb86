# A TDgpt plugin as the TDgpt docs write one (spec §6.3/6.4), unmodified:
# it must be discovered, listed and served by the anode.
import numpy as np

from taosanalytics.service import AbstractForecastService


class _MyForecastService(AbstractForecastService):
    """ Define a class inheriting from AbstractForecastService and implementing the abstract method """

    # Name of the algorithm, used as algo=myfc in SQL
    name = 'myfc'

    # Description of the algorithm
    desc = """return the last value as the forecast value"""

    def __init__(self):
        super().__init__()

    def execute(self):
        """ Generate forecast results: the last value, repeated """
        res = []

        # start_ts, time_step and rows are set by the framework
        ts_list = [self.start_ts + i * self.time_step for i in range(self.rows)]
        res.append(ts_list)

        res_list = [self.list[-1]] * self.rows
        res.append(res_list)

        # bounds when requested
        if self.return_conf:
            res.append([v - 1 for v in res_list])
            res.append([v + 1 for v in res_list])

        return {"res": res, "mse": 0}

    def set_params(self, params):
        """ The algorithm does not need any parameters, just call the parent class method """
        super().set_params(params)
