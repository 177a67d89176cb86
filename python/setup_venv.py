#!/usr/bin/env python3
"""Create or update the anode's Python virtual environment.

    python3 python/setup_venv.py [--config etc/taosanode.ini] [--venv DIR] [--check] [--progress]

The venv goes where `[uwsgi] virtualenv` of the configuration says (upstream's
key), else `.venv` in the working directory. It is idempotent: a stamp file in
the venv records the hash of requirements.txt and the interpreter, and when it
matches nothing is done (a few milliseconds). `--check` only reports whether
the venv is ready (exit 0) or not (exit 1). `--progress` numbers the steps
and lets pip draw its progress bars (install.sh uses it).

Only the standard library is used, so this runs on a bare Python 3.11.
"""

import argparse
import configparser
import hashlib
import os
import subprocess
import sys
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
STAMP = ".anode-requirements"
DEFAULT_VENV = ".venv"


def venv_path(config, override):
    if override:
        return override
    if config and os.path.isfile(config):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        # uWSGI ini files may repeat keys; the last one wins, as in uWSGI.
        parser.read(config)
        path = parser.get("uwsgi", "virtualenv", fallback="").strip()
        if path:
            return path
    return DEFAULT_VENV


def wanted_stamp():
    with open(REQUIREMENTS, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return f"{digest} python {sys.version_info[0]}.{sys.version_info[1]}\n"


def ready(path):
    try:
        with open(os.path.join(path, STAMP)) as f:
            return f.read() == wanted_stamp()
    except OSError:
        return False


def requirements():
    with open(REQUIREMENTS) as f:
        return [l for l in (x.split("#")[0].strip() for x in f) if l]


class Steps:
    """`[n/3] ` before each step when --progress is given, else nothing."""

    ORDER = ("creating", "installing", "checking")

    def __init__(self, on):
        self.on = on

    def __call__(self, name):
        if not self.on:
            return ""
        return f"[{self.ORDER.index(name) + 1}/{len(self.ORDER)}] "


def say(msg):
    print(f"setup_venv: {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="etc/taosanode.ini")
    ap.add_argument("--venv", default=None, help="venv directory (overrides the configuration)")
    ap.add_argument("--check", action="store_true", help="only tell whether the venv is ready")
    ap.add_argument("--progress", action="store_true", help="number the steps, show pip's progress")
    args = ap.parse_args()
    step = Steps(args.progress)

    path = venv_path(args.config, args.venv)
    if ready(path):
        if not args.check:
            say(f"{path} is up to date")
        return 0
    if args.check:
        say(f"{path} is missing or out of date")
        return 1

    started = time.monotonic()
    python = os.path.join(path, "bin", "python")
    if not os.path.exists(python):
        say(f"{step('creating')}creating the virtual environment {path} (Python {sys.version.split()[0]})")
        venv.EnvBuilder(with_pip=True, clear=False, symlinks=True).create(path)
    say(f"{step('installing')}installing {len(requirements())} packages of {REQUIREMENTS} "
        f"into {path} (a few minutes the first time)")
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check",
           "--progress-bar", "on" if args.progress else "off", "-r", REQUIREMENTS]
    if subprocess.call(cmd) != 0:
        say("pip failed; the anode will start with its native algorithms only")
        return 1
    # Smoke test in the venv itself: the versions the anode will log.
    if args.progress:
        say(f"{step('checking')}checking that the packages import")
    probe = ("import sys, numpy, scipy, pandas, statsmodels, sklearn, pmdarima;"
             "print(sys.prefix, 'numpy', numpy.__version__, 'pmdarima', pmdarima.__version__)")
    if subprocess.call([python, "-c", probe]) != 0:
        say("the installed packages do not import; see the error above")
        return 1
    with open(os.path.join(path, STAMP), "w") as f:
        f.write(wanted_stamp())
    say(f"{path} ready in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
