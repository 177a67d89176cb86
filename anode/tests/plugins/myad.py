# The anomaly-detection plugin of the TDgpt docs, unmodified apart from
# comments: values above the mean + 2 standard deviations are anomalies.
import numpy as np

from taosanalytics.service import AbstractAnomalyDetectionService


class _MyAnomalyDetectionService(AbstractAnomalyDetectionService):
    """ Define a class inheriting from AbstractAnomalyDetectionService """

    name = 'myad'

    desc = """return the values larger than mean + 2 * std as anomalies"""

    def __init__(self):
        super().__init__()

    def execute(self):
        """ 1 for normal points, -1 for anomalies """
        mean = np.mean(self.list)
        std = np.std(self.list)
        return [-1 if v > mean + 2 * std else 1 for v in self.list]

    def set_params(self, params):
        super().set_params(params)
