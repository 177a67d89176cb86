"""The Python side of the anode's worker processes.

The Rust worker (`anode python-worker`) embeds CPython, imports this module,
calls `start()` once and then `run()` per request. Framing, pipes, timeouts
and crash handling are the Rust side's; this side discovers algorithms and
runs them. Arrays arrive and leave as raw little-endian buffers (f64 values,
i64 timestamps and anomaly codes), never as JSON numbers.

Discovery follows upstream's loader (spec §6.2): every `*.py` of
`taosanalytics/algo/{ad,fc}` and of the plugin directory (and its `ad/`,
`fc/`, `custom/ad/`, `custom/fc/` folders) is imported; a class defined in
that file whose name starts with `_` and that is not abstract is
instantiated and registered under its `name`. Each request works on a
shallow copy of the instance, so parameters never leak between requests.
A file that fails to import, or a class whose constructor raises, is
reported and skipped.
"""

import copy
import importlib
import importlib.util
import inspect
import json
import os
import platform
import sys
import traceback

import numpy as np

from taosanalytics import service as base
from taosanalytics.conf import app_logger, conf

SERVED_TYPES = ("anomaly-detection", "forecast")
ABSTRACT_NAMES = {name for name, _ in inspect.getmembers(base, inspect.isclass)}

_services = {}   # name -> instance
_native = set()  # names the Rust side serves natively


def _log(msg):
    app_logger.log_inst.info(msg)


def _plugin_files(plugin_dir):
    if not plugin_dir or not os.path.isdir(plugin_dir):
        return []
    files = []
    for sub in ("", "ad", "fc", os.path.join("custom", "ad"), os.path.join("custom", "fc")):
        folder = os.path.join(plugin_dir, sub)
        if os.path.isdir(folder):
            files += [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                      if f.endswith(".py") and f != "__init__.py"]
    return files


def _modules(plugin_dir, skipped):
    """Yield (origin, module) for every algorithm file that imports."""
    pkg_root = os.path.dirname(os.path.abspath(base.__file__))
    for family in ("ad", "fc"):
        folder = os.path.join(pkg_root, "algo", family)
        for f in sorted(os.listdir(folder)):
            if f.endswith(".py") and f != "__init__.py":
                name = f"taosanalytics.algo.{family}.{f[:-3]}"
                try:
                    yield folder + "/" + f, importlib.import_module(name)
                except Exception as e:  # noqa: BLE001 - a broken file must not stop the worker
                    skipped.append({"file": os.path.join(folder, f), "error": _describe(e)})
    for path in _plugin_files(plugin_dir):
        rel = os.path.relpath(path, plugin_dir)
        mod_name = "anode_plugins." + rel[:-3].replace(os.sep, ".")
        try:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
            yield path, module
        except BaseException as e:  # noqa: BLE001 - incl. SystemExit from a plugin
            sys.modules.pop(mod_name, None)
            skipped.append({"file": path, "error": _describe(e)})


def start(plugin_dir, model_dir, native_names_json):
    """Discover algorithms; return the hello message (JSON text)."""
    conf.setup(model_dir=model_dir)
    _native.update(json.loads(native_names_json))
    skipped, algorithms = [], []
    for origin, module in _modules(plugin_dir, skipped):
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if (not cls_name.startswith("_") or cls_name in ABSTRACT_NAMES
                    or cls.__module__ != module.__name__ or inspect.isabstract(cls)):
                continue
            try:
                inst = cls()
            except Exception as e:  # noqa: BLE001
                skipped.append({"file": origin, "error": f"{cls_name}(): {_describe(e)}"})
                continue
            name, kind = getattr(inst, "name", ""), getattr(inst, "type", None)
            why = None
            if kind not in SERVED_TYPES:
                why = f"type {kind!r} is not served from Python (only {', '.join(SERVED_TYPES)})"
            elif not isinstance(name, str) or not name or name != name.lower() or len(name.encode()) > 63:
                why = f"name {name!r} must be lower-case, 1 to 63 bytes"
            elif name in _native:
                why = f"{name} is a native algorithm of the anode; the native one is served"
            elif name in _services:
                why = f"service with name '{name}' already exists"
            if why:
                skipped.append({"file": origin, "error": f"{cls_name}: {why}"})
                continue
            _services[name] = inst
            # users' plugin files are not built-in (TDgpt 3.4's `builtins` flag)
            plugin = os.path.abspath(str(origin)).startswith(os.path.abspath(plugin_dir) + os.sep)
            algorithms.append({"type": kind, "name": name, "desc": _text(inst.get_desc),
                               "params": _params(inst), "status": _text(inst.get_status) or "READY",
                               "builtins": not plugin})
    try:
        numpy_version = np.__version__
    except AttributeError:
        numpy_version = None
    return json.dumps({"python": platform.python_version(), "prefix": sys.prefix,
                       "numpy": numpy_version, "algorithms": algorithms, "skipped": skipped})


def _text(fn):
    try:
        v = fn()
        return v if isinstance(v, str) else str(v)
    except Exception:  # noqa: BLE001
        return ""


def _params(inst):
    try:
        p = inst.get_params()
        json.dumps(p)
        return p if isinstance(p, dict) else {}
    except Exception:  # noqa: BLE001
        return {}


def _describe(e):
    """An exception as the client should see it: its message, else its type."""
    if isinstance(e, MemoryError):
        return "out of memory in the Python algorithm"
    text = str(e)
    if isinstance(e, KeyError):
        text = f"missing key {text}"
    return text if text else type(e).__name__


def run(header_json, buffers):
    """One request: (header JSON, [values f64, ts i64]) -> (header JSON, buffers)."""
    try:
        return _run(json.loads(header_json), buffers)
    except Exception as e:  # noqa: BLE001 - every error goes back to the client
        app_logger.log_inst.debug(traceback.format_exc())
        return json.dumps({"ok": False, "error": _describe(e)}), []


def _run(header, buffers):
    if header.get("dynamic") is not None:
        return _run_dynamic(header, buffers)
    name = header["algo"]
    proto = _services.get(name)
    if proto is None:
        raise ValueError(f"failed to load model: {name}")
    values = np.frombuffer(buffers[0], dtype="<f8")
    ts = np.frombuffer(buffers[1], dtype="<i8")
    s = copy.copy(proto)
    params = header["params"]
    # Upstream handed algorithms Python lists decoded from JSON.
    if s.type == "anomaly-detection":
        s.set_input_list(values.tolist(), ts.tolist())
        s.set_params(params)
        codes = s.execute()
        codes = np.asarray(codes)
        if codes.ndim != 1 or len(codes) != len(values):
            raise ValueError(f"algorithm {name} returned {codes.size} results for {len(values)} rows")
        return json.dumps({"ok": True}), [codes.astype("<i8").tobytes()]
    s.set_input_data(values.tolist(), ts.tolist())
    s.set_params(params)
    result = s.execute()
    if not isinstance(result, dict) or "res" not in result:
        raise ValueError("forecast result is empty")
    res = result["res"]
    if len(res) < 2:
        raise ValueError("result length should greater than or equal to 2")
    arrays = [np.asarray(a, dtype="<f8") for a in res[1:4]]
    out = {"ok": True}
    mse = result.get("mse")
    if mse is not None:
        out["mse"] = float(mse)
    if result.get("model_info") is not None:
        out["model_info"] = str(result["model_info"])
    return json.dumps(out), [a.tobytes() for a in arrays]


# --- deployed models (TDgpt 3.4's dynamic models) --------------------------
#
# The Rust side has read and checked the configuration; it sends it with
# the resolved model_path, and the data columns as one row-major matrix.
# Deviations from upstream's algo/dynamic/*, each an upstream bug:
# - a pkl estimator is used as trained (predict); upstream refits a bare
#   pkl estimator on the request's data (fit_predict) when it has no
#   pipeline dict, discarding the training;
# - center/scale are applied only when the pipeline has them; upstream
#   applies np.array(None) and fails for any pipeline without them.

# the estimator class each algorithm's pkl must hold
_PKL_TYPES = {
    "iforest": ("sklearn.ensemble", "IsolationForest"),
    "svm": ("sklearn.svm", "OneClassSVM"),
    "linear": ("sklearn.linear_model", "LinearRegression"),
    "lasso": ("sklearn.linear_model", "Lasso"),
    "ridge": ("sklearn.linear_model", "Ridge"),
    "elasticnet": ("sklearn.linear_model", "ElasticNet"),
    "polynomial": ("sklearn.pipeline", "Pipeline"),
    "svr": ("sklearn.svm", "SVR"),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression"),
    "decision_tree": ("sklearn.tree", "DecisionTreeClassifier"),
}
# IsolationForest arguments a best_params-only configuration may set
_IFOREST_ARGS = ("n_estimators", "max_samples", "max_features", "contamination", "bootstrap",
                 "random_state")
_FEATURES = ("mean", "std", "slope")
_pkl_cache = {}  # path -> ((mtime_ns, size), model, pipeline)


def _load_pkl(path, algo):
    """(model, pipeline dict) of a pkl, checked as upstream's deploy and loader check it."""
    import importlib

    import joblib

    st = os.stat(path)
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _pkl_cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    try:
        data = joblib.load(path)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - pickle's errors say little on their own
        raise ValueError(f"not a joblib pickle ({type(e).__name__}: {e})") from None
    if isinstance(data, dict) and "model" in data:
        model, pipeline = data["model"], data.get("pipeline") or {}
        if not hasattr(model, "predict"):
            raise ValueError(f"pkl file contains non-model object of type: {type(model).__name__}")
    elif hasattr(data, "predict"):
        model, pipeline = data, {}
    else:
        raise ValueError(f"pkl file must contain a model or dict with 'model' key, got: {type(data).__name__}")
    module, cls = _PKL_TYPES[algo]
    expected = getattr(importlib.import_module(module), cls)
    if not isinstance(model, expected):
        raise ValueError(f"{algo} needs a {cls} model, the pkl holds a {type(model).__name__}")
    if not isinstance(pipeline, dict):
        raise ValueError(f"the pkl's pipeline must be a dict, got: {type(pipeline).__name__}")
    _pkl_cache[path] = (stamp, model, pipeline)
    return model, pipeline


def _preprocess(X, pipeline):
    """upstream's apply_pipeline_preprocessing: fill NaN per column, then standardise."""
    X = np.array(X, dtype=float, copy=True)
    for col, value in (pipeline.get("fill_values") or {}).items():
        col = int(col)
        if 0 <= col < X.shape[1]:
            X[np.isnan(X[:, col]), col] = value
    center, scale = pipeline.get("center"), pipeline.get("scale")
    if center is not None and scale is not None:
        X = (X - np.asarray(center, dtype=float)) / (np.asarray(scale, dtype=float) + 1e-8)
    return X


def _positive_int(params, key, default):
    try:
        v = int(params.get(key, default))
    except (TypeError, ValueError) as e:
        raise ValueError("best_params.window_size and best_params.stride must be integers") from e
    if v <= 0:
        raise ValueError("best_params.window_size and best_params.stride must be positive integers; "
                         f"got {key}={v}")
    return v


def _window_features(X, window, stride, feature_fns):
    """(window starts, feature rows): per window and column, the features or the raw values."""
    n = X.shape[0]
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    steps = np.arange(window, dtype=float)
    rows = []
    for i in starts:
        row = []
        for c in range(X.shape[1]):
            w = X[i:i + window, c]
            if not feature_fns:
                row.extend(w.tolist())
            for fn in feature_fns:
                if fn == "mean":
                    row.append(float(np.mean(w)))
                elif fn == "std":
                    row.append(float(np.std(w)))
                elif fn == "slope":
                    row.append(float(np.polyfit(steps, w, 1)[0]))
        rows.append(row)
    return starts, np.array(rows, dtype=float)


def _detect(d, X):
    """Per-point codes of a deployed iforest or svm: 1 normal, -1 anomalous."""
    algo, config = d["algo"], d["config"]
    params = config.get("best_params") or {}
    if d.get("model_path"):
        model, pipeline = _load_pkl(d["model_path"], algo)
        trained = True
    elif algo == "iforest":
        from sklearn.ensemble import IsolationForest

        args = {k: params[k] for k in _IFOREST_ARGS if k in params}
        args.setdefault("random_state", 0)  # identical requests, identical answers
        model, pipeline, trained = IsolationForest(**args), {}, False
    else:
        raise ValueError(f"{algo} models require model_path (pkl file); best_params not supported")
    settings = pipeline if pipeline else params
    mode = settings.get("mode", "window") if algo == "iforest" else "point"
    if mode not in ("window", "point"):
        raise ValueError(f"unknown inference mode '{mode}', expected window or point")
    n = X.shape[0]
    if mode == "point":
        X = _preprocess(X, pipeline)
        preds = model.predict(X) if trained else model.fit_predict(X)
        return np.where(np.asarray(preds) == 1, 1, -1)
    window = _positive_int(settings, "window_size", 100)
    stride = _positive_int(settings, "stride", 1)
    feature_fns = list(settings.get("feature_fns") or [])
    unknown = [f for f in feature_fns if f not in _FEATURES]
    if unknown:
        raise ValueError(f"unknown feature function {unknown[0]!r}, expected one of {', '.join(_FEATURES)}")
    codes = np.ones(n, dtype=np.int64)
    if n < window:
        return codes  # upstream: shorter than one window, every point normal
    starts, F = _window_features(X, window, stride, feature_fns)
    preds = model.predict(F) if trained else model.fit_predict(F)
    for start, p in zip(starts, preds):
        if p == -1:
            codes[start:start + window] = -1
    return codes


def _datetimes(ts, params):
    """Timestamps in the request's precision as pandas datetimes."""
    import pandas as pd

    return pd.to_datetime(ts, unit=params.get("precision", "ms"))


def _forecast_reply(model_info, arrays):
    """A forecast's answer: forecast, lower and upper bounds as f64 buffers."""
    arrays = [np.asarray(a, dtype="<f8") for a in arrays]
    return json.dumps({"ok": True, "model_info": model_info}), [a.tobytes() for a in arrays]


def _forecast_prophet(d, header, values, ts):
    try:
        from prophet import Prophet
    except ImportError as e:
        raise ValueError(f"deployed model {d['name']} runs prophet, which is not installed in the "
                         f"anode's venv (pip install prophet): {e}") from None
    import pandas as pd

    p = header["params"]
    rows, start, step = int(p["rows"]), int(p["start_ts"]), int(p["time_step"])
    args = dict(d["config"].get("best_params") or {})
    args["interval_width"] = float(p.get("conf", 0.95))
    model = Prophet(**args)
    model.fit(pd.DataFrame({"ds": _datetimes(ts, p), "y": values}))
    future = pd.DataFrame({"ds": _datetimes([start + i * step for i in range(rows)], p)})
    out = model.predict(future)
    return _forecast_reply(f"prophet {args}", [out[c] for c in ("yhat", "yhat_lower", "yhat_upper")])


def _forecast_deepar(d, header, values, ts):
    """upstream's DeepARModelForecaster: a gluonts DeepAREstimator rebuilt from
    pytorch/config.json (or the configuration), its weights loaded, the median
    and the conf quantiles of its samples."""
    try:
        import torch
        from gluonts.dataset.pandas import PandasDataset
        from gluonts.torch import DeepAREstimator
    except ImportError as e:
        raise ValueError(f"deployed model {d['name']} runs deepar, which needs gluonts and PyTorch "
                         f"in the anode's venv (pip install gluonts torch): {e}") from None
    import pandas as pd

    config, p = d["config"], header["params"]
    pytorch = os.path.join(d.get("config_dir") or "", "pytorch")
    weights = d.get("model_path") or os.path.join(pytorch, "weights.pt")
    if not os.path.isfile(weights):
        raise ValueError("DeepAR requires model_path (PyTorch .pth/.pt file). Either set model_path "
                         "in config or place weights.pt in pytorch/ subdirectory")
    cfg = {}
    cfg_path = config.get("config_path") or os.path.join(pytorch, "config.json")
    if os.path.isfile(cfg_path):
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    if cfg.get("freq") and config.get("freq") and cfg["freq"] != config["freq"]:
        raise ValueError(f"freq mismatch: pytorch/config.json has {cfg['freq']!r} but main config "
                         f"has {config['freq']!r}")
    freq = cfg.get("freq") or config.get("freq") or "D"
    horizon = int(p["rows"])
    length = int(cfg.get("prediction_length") or config.get("prediction_length", 12))
    if horizon > length:
        raise ValueError(f"requested forecast rows ({horizon}) exceeds DeepAR model's "
                         f"prediction_length ({length})")

    def opt(key, default):
        return cfg.get(key, config.get(key, default))

    estimator = DeepAREstimator(
        freq=freq, prediction_length=length, context_length=opt("context_length", 2 * length),
        num_layers=opt("num_layers", 2), hidden_size=opt("hidden_size", 128),
        dropout_rate=opt("dropout_rate", 0.1), batch_size=opt("batch_size", 32),
        num_feat_dynamic_real=cfg.get("num_feat_dynamic_real", 0),
        num_parallel_samples=cfg.get("num_parallel_samples", 100),
        lr=opt("learning_rate", 0.001))
    module = estimator.create_lightning_module()
    module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    module.eval()
    predictor = estimator.create_predictor(estimator.create_transformation(), module)
    series = pd.Series(values, index=_datetimes(ts, p))
    series.index.freq = pd.tseries.frequencies.to_offset(freq)
    samples = next(iter(predictor.predict(PandasDataset({"target": series})))).samples[:, :horizon]
    alpha = 1.0 - float(p.get("conf", 0.95))
    arrays = [np.quantile(samples, q, axis=0) for q in (0.5, alpha / 2, 1 - alpha / 2)]
    return _forecast_reply(f"deepar {freq} x{length}", arrays)


def _finite_list(preds):
    out = np.asarray(preds).tolist()
    return [None if isinstance(v, float) and not np.isfinite(v) else v for v in out]


def _run_dynamic(header, buffers):
    d = header["dynamic"]
    algo = d["algo"]
    if d["op"] == "check":
        _pkl_cache.pop(d["model_path"], None)  # a staged file: never serve a stale load
        _load_pkl(d["model_path"], algo)
        return json.dumps({"ok": True}), []
    values = np.frombuffer(buffers[0], dtype="<f8")
    ts = np.frombuffer(buffers[1], dtype="<i8")
    if algo == "prophet":
        return _forecast_prophet(d, header, values, ts)
    if algo == "deepar":
        return _forecast_deepar(d, header, values, ts)
    cols = int(d["columns"])
    X = values.reshape(-1, cols)
    if algo in ("iforest", "svm"):
        codes = _detect(d, X)
        valid = int(d.get("valid_code", 1))
        codes = np.where(codes == 1, valid, -1).astype("<i8")
        if len(codes) != X.shape[0]:
            raise ValueError(f"dynamic anomaly detector returned {len(codes)} codes for {X.shape[0]} input points")
        return json.dumps({"ok": True}), [codes.tobytes()]
    model, pipeline = _load_pkl(d["model_path"], algo)
    preds = model.predict(_preprocess(X, pipeline))
    return json.dumps({"ok": True, "res": _finite_list(preds)}), []
