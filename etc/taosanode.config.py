# taosanode.config.py in the shape TDgpt 3.4.1 ships (gunicorn's config
# file, also read by taosanalytics): `anode -c etc/taosanode.config.py`, or
# TDGPT_CONF=... anode. The anode runs this file with python3 and reads the
# names below (docs/operations.md says which, and what each becomes).
import multiprocessing
import os
import platform

_relative = platform.system().lower() == "windows" or bool(os.environ.get("GITHUB_ACTIONS"))
# this file is <install>/cfg/taosanode.config.py
_install = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _path(relative, absolute):
    return os.path.join(_install, relative) if _relative else absolute


# listen address
bind = "127.0.0.1:6050"
# processes x threads: how many analyses run at once
workers = 2
threads = max(multiprocessing.cpu_count() / 4 + 1, 2)
worker_class = "sync"          # gunicorn's; ignored by the anode
timeout = 1200                 # seconds one request may take
keepalive = 1200               # gunicorn's; ignored by the anode
loglevel = "info"              # gunicorn's access log; ignored by the anode

virtualenv = _path("venv", "/var/lib/taos/taosanode/venv")

# [taosanode]
app_log = _path("log/taosanode.app.log", "/var/log/taos/taosanode/taosanode.app.log")
model_dir = _path("model/", "/var/lib/taos/taosanode/model/")
log_level = "INFO"
draw_result = False

# model servers of the foundation models: http://127.0.0.1:<port><endpoint>
models = {
    "tdtsfm": {"port": 6061, "endpoint": "/tdtsfm", "algo_name": "tdtsfm_1"},
    "timemoe": {"port": 6062, "endpoint": "/ds_predict", "algo_name": "timemoe-fc"},
    "chronos": {"port": 6063, "endpoint": "/ds_predict"},
    "moirai": {"port": 6064, "endpoint": "/ds_predict"},
    "timesfm": {"port": 6065, "endpoint": "/ds_predict"},
}
