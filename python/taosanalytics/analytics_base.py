"""Later upstream name of `taosanalytics.service`."""
from taosanalytics.service import *  # noqa: F401,F403
from taosanalytics.service import (AbstractAnalyticsService, AbstractAnomalyDetectionService,  # noqa: F401
                                   AbstractForecastService, AnalyticsService)
