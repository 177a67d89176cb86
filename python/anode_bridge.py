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
