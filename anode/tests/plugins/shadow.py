# A plugin named like a native algorithm: the native one is kept.
from taosanalytics.service import AbstractAnomalyDetectionService


class _KsigmaService(AbstractAnomalyDetectionService):
    name = 'ksigma'
    desc = 'shadows the native ksigma'

    def execute(self):
        return [1] * len(self.list)
