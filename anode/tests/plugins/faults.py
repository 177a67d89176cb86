# Test fixtures: algorithms that misbehave on request (option `how=`), to
# check that the anode survives them.
import ctypes
import os
import stat
import time

from taosanalytics.service import AbstractAnomalyDetectionService, AbstractForecastService


class _FaultyService(AbstractAnomalyDetectionService):
    name = 'faulty'
    desc = 'misbehaves as told by how=raise|crash|exit|loop|sleep|memory|print|scribble'

    def set_params(self, params):
        super().set_params(params)
        self.how = params.get('how', 'ok')
        self.seconds = float(params.get('seconds', '1'))

    def execute(self):
        if self.how == 'raise':
            raise ValueError('faulty algorithm: bad value 42 in the input')
        if self.how == 'crash':
            ctypes.string_at(0)  # a real segfault: read address 0
        if self.how == 'exit':
            os._exit(7)
        if self.how == 'loop':
            while True:
                pass
        if self.how == 'sleep':
            time.sleep(self.seconds)
        if self.how == 'memory':
            hog = bytearray(1 << 30)  # 1 GiB, touched page by page
            for i in range(0, len(hog), 4096):
                hog[i] = 1
        if self.how == 'scribble':
            # write into every pipe the process holds, as a careless plugin
            # (or one that inherited descriptors from a C library) might
            for fd in range(3, 1024):
                try:
                    if stat.S_ISFIFO(os.fstat(fd).st_mode):
                        os.write(fd, b'a plugin scribbling on its pipes\n')
                except OSError:
                    pass
        if self.how == 'print':
            print("a plugin writing to stdout must not break the protocol")
        return [1] * len(self.list)


class _NoopForecastService(AbstractForecastService):
    """The smallest forecast: the bridge's own cost, for the benchmark."""
    name = 'noop'
    desc = 'forecast the last value (measures the Python bridge)'

    def execute(self):
        last = self.list[-1]
        res = [self.result_ts_list(), [last] * self.rows]
        if self.return_conf:
            res += [[last] * self.rows, [last] * self.rows]
        return {"res": res, "mse": None}
