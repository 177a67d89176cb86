"""Helpers upstream algorithm files import from `taosanalytics.util`."""

import os

from taosanalytics.conf import conf
from taosanalytics.error import InvalidModelName


def parse_options(option_str):
    """`k1=v1,k2=v2` to a dict of strings, with upstream's rules (spec §3.3)."""
    options = {}
    if not option_str:
        return options
    for piece in option_str.split(","):
        piece = piece.strip()
        if "=" not in piece or len(piece) < 3:
            continue
        kv = piece.split("=")
        if not kv[0].strip() or not kv[1].strip():
            continue
        options[kv[0].strip()] = kv[1].strip()
    return options


def resolve_model_path(name, *, subdir="", suffix=""):
    """The file of model `name` under `model-dir[/subdir]`, refusing anything
    that would leave model-dir: absolute paths, `..`, and symlinks that point
    outside. Raises InvalidModelName with a message for the client."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidModelName("model needs to be specified")
    if "\x00" in name or os.path.isabs(name) or "\\" in name or ".." in name.replace("\\", "/").split("/"):
        raise InvalidModelName(
            f"invalid model name '{name}': model= must name a model inside model-dir, "
            "without absolute paths or '..'")
    root = os.path.realpath(conf.get_model_directory())
    path = os.path.join(root, subdir, name + suffix) if subdir else os.path.join(root, name + suffix)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise InvalidModelName(f"invalid model name '{name}': it resolves outside model-dir")
    return real
