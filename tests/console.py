#!/usr/bin/env python3
"""The web console end to end in headless Chromium (issue 21).

    python3 tests/console.py --url http://127.0.0.1:PORT --shots DIR

Drives Debian's chromium through chromedriver's W3C WebDriver protocol
(plain HTTP + JSON, so only the standard library is needed) against a
running `tsdb serve` with its embedded anode and the demo data loaded
(tests/console.sh sets that up): a refused sign-in, then signing in, SQL
(the grid and its column types, paging, an error with its code and
position, history), the explorer (a series drawn, a forecast band, anomaly
windows shaded and listed), the operations view (anodes, streams with a
working Kill button, subscriptions, databases with sizes), a narrow
window, and no request to any other origin. Screenshots go to DIR.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CTRL, ENTER = "\ue009", "\ue007"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Chromium:
    """A W3C WebDriver session through chromedriver: just the commands
    this test needs."""

    def __init__(self, chromium, chromedriver):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="console-chromium-")
        self.downloads = os.path.join(self.profile, "downloads")
        self.driver = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self._call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={self.profile}"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args, "prefs": {
                "download.default_directory": self.downloads,
                "download.prompt_for_download": False,
            }},
        }}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode()[:500]}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def keys(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def js_async(self, script, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def type(self, css, text, clear=True):
        el = self.find(css)
        if clear:
            self.cmd("POST", f"/element/{el}/clear", {})
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def wait(self, script, what, timeout=60, *args):
        """Waits until `script` returns something truthy; returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.js(script, *args)
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})")

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def resize(self, width, height):
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def close(self):
        try:
            self.cmd("DELETE", "")
        except Exception:
            pass
        self.driver.terminate()
        self.driver.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Firefox:
    """Firefox driven through Marionette, its own remote protocol (JSON
    frames `length:[0, id, command, params]` over TCP), so no geckodriver
    is needed: Debian packages none. The same methods as [`Chromium`]."""

    PREFS = {
        "marionette.port": 0,  # set below
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "app.update.enabled": False, "app.update.auto": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "toolkit.telemetry.enabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "extensions.update.enabled": False,
        "browser.download.folderList": 2,
        "browser.download.useDownloadDir": True,
        "browser.helperApps.neverAsk.saveToDisk": "text/csv",
        "browser.download.always_ask_before_handling_new_types": False,
    }

    def __init__(self, firefox):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="console-firefox-")
        self.downloads = os.path.join(self.profile, "downloads")
        prefs = dict(self.PREFS, **{"marionette.port": self.port, "browser.download.dir": self.downloads})
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for k, v in prefs.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        self.proc = subprocess.Popen(
            [firefox, "--headless", "--marionette", "--no-remote", "--profile", self.profile,
             "-width", "1280", "-height", "900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, MOZ_HEADLESS="1"))
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""
        self._read()  # the greeting
        self.next_id = 0
        self._call("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})

    def _read(self):
        while b":" not in self.buf:
            self.buf += self.sock.recv(65536)
        n, rest = self.buf.split(b":", 1)
        n = int(n)
        while len(rest) < n:
            rest += self.sock.recv(max(65536, n - len(rest)))
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def _call(self, command, params):
        self.next_id += 1
        msg = json.dumps([0, self.next_id, command, params]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        while True:
            kind, mid, error, result = self._read()
            if mid == self.next_id:
                break
        if error:
            raise RuntimeError(f"Marionette {command}: {error}")
        return result

    def go(self, url):
        self._call("WebDriver:Navigate", {"url": url})

    def js(self, script, *args):
        return self._call("WebDriver:ExecuteScript", {"script": script, "args": list(args)})["value"]

    def js_async(self, script, *args):
        return self._call("WebDriver:ExecuteAsyncScript", {"script": script, "args": list(args)})["value"]

    def find(self, css):
        return self._call("WebDriver:FindElement", {"using": "css selector", "value": css})["value"][ELEMENT]

    def click(self, css):
        self._call("WebDriver:ElementClick", {"id": self.find(css)})

    def keys(self, css, text):
        self._call("WebDriver:ElementSendKeys", {"id": self.find(css), "text": text})

    def type(self, css, text, clear=True):
        el = self.find(css)
        if clear:
            self._call("WebDriver:ElementClear", {"id": el})
        self._call("WebDriver:ElementSendKeys", {"id": el, "text": text})

    text = Chromium.text
    wait = Chromium.wait

    def screenshot(self, path):
        png = base64.b64decode(self._call("WebDriver:TakeScreenshot", {})["value"])
        with open(path, "wb") as f:
            f.write(png)

    def resize(self, width, height):
        self._call("WebDriver:SetWindowRect", {"width": width, "height": height})

    def close(self):
        try:
            self._call("Marionette:Quit", {})
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_download(folder, name, timeout=20):
    """The lines of a finished download. Both browsers may show the final name before the bytes:
    Chromium reserves it as an empty placeholder while writing `.crdownload`, Firefox writes `.part`
    beside it. So wait until no partial file is left and the file ends with its last newline."""
    path = os.path.join(folder, name)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        partial = any(f.endswith((".crdownload", ".part")) for f in os.listdir(folder)) if os.path.isdir(folder) else True
        if not partial and os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                break
        time.sleep(0.1)
    return text.splitlines()


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def run(b, url, shots):
    b.go(url + "/")
    # --- sign-in: refused, then accepted
    b.wait("return !document.getElementById('login').hidden", "the sign-in form")
    b.type("#login-user", "root")
    b.type("#login-password", "wrong")
    b.click("#login-form button[type=submit]")
    err = b.wait("return document.getElementById('login-error').textContent", "the refusal")
    check(err.startswith("Sign-in refused: the user or the password is wrong (0x"), f"refused credentials say so: {err}")
    b.type("#login-password", "taosdata")
    b.click("#login-form button[type=submit]")
    b.wait("return !document.getElementById('tabs').hidden", "the views after sign-in")
    check(b.text("#who") == "signed in as root", "signed in")

    # --- SQL: Ctrl-Enter, the grid with column types, paging, CSV enabled
    b.type("#sql-text", "select * from demo.passengers")
    b.keys("#sql-text", CTRL + ENTER + CTRL)
    status = b.wait("const s = document.getElementById('sql-status').textContent; return s.startsWith('Query OK') && s",
                    "the query's answer")
    check(status.startswith("Query OK, 144 row(s) in set"), f"Ctrl-Enter ran the query: {status}")
    heads = b.js("return [...document.querySelectorAll('#sql-grid th')].map(t => t.textContent)")
    check(heads == ["tsTIMESTAMP", "valINT"], f"the grid's columns with their types: {heads}")
    rows = b.js("return document.querySelectorAll('#sql-grid tbody tr').length")
    check(rows == 100, "a page holds 100 rows")
    check(b.text("#sql-page") == "rows 1–100 of 144", "the pager counts the rows")
    first = b.js("return [...document.querySelectorAll('#sql-grid tbody tr:first-child td')].map(t => t.textContent)")
    check(first == ["1949-01-01T00:00:00Z", "112"], f"the first row: {first}")
    b.js("window.scrollTo(0, 0)")
    b.screenshot(os.path.join(shots, "console-sql.png"))
    b.click("#sql-next")
    check(b.js("return document.querySelectorAll('#sql-grid tbody tr').length") == 44, "the second page holds 44")
    check(not b.js("return document.getElementById('sql-csv').disabled"), "CSV download offered")
    b.click("#sql-csv")
    csv = os.path.join(b.downloads, "result.csv")
    lines = wait_download(b.downloads, "result.csv")
    check(len(lines) == 145 and lines[:2] == ["ts,val", "1949-01-01T00:00:00Z,112"],
          f"the CSV holds the header and all 144 rows, not the page: {lines[:2]}, {len(lines)} lines")

    # an error: its code, its position marked under the statement
    b.type("#sql-text", "select * form demo.passengers")
    b.click("#sql-run")
    msg = b.wait("const e = document.getElementById('sql-error'); return !e.hidden && e.textContent", "the error")
    check(msg.startswith("[0x2600] syntax error near \"form demo.passengers\" (at position 9)"), f"the error's code and text: {msg.splitlines()[0]}")
    check(msg.splitlines()[1:] == ["select * form demo.passengers", "         ^"], "the position is marked")
    sel = b.js("const t = document.getElementById('sql-text'); return [t.selectionStart, t.selectionEnd]")
    check(sel == [9, 10], "the editor selects the position")
    hist = b.js("return [...document.querySelectorAll('#sql-history option')].map(o => o.value)")
    check(hist[1:3] == ["select * form demo.passengers", "select * from demo.passengers"], "the history, newest first")

    # --- explore: a series, a forecast band, anomaly windows
    b.click("#tab-explore")
    b.wait("return document.getElementById('ex-col').value === 'val' && document.getElementById('fc-algo').options.length > 0",
           "the explorer's choices")
    check(b.js("return document.getElementById('ex-table').value") == "passengers", "demo.passengers offered")
    algos = b.js("return [...document.getElementById('fc-algo').options].map(o => o.value)")
    check("auto" in algos and "holtwinters" in algos, "forecast algorithms from SHOW ANODES FULL")
    b.click("#ex-draw")
    st = b.wait("const s = window.tsdbConsole.chartState(); return s && s.points > 0 && s", "the chart")
    check(st["points"] == 144 and st["dataLengths"] == [144, 144], f"144 points drawn: {st}")
    check(st["canvas"][0] > 600 and st["canvas"][1] > 200, "the canvas has a size")
    b.click("#fc-run")
    st = b.wait("const s = window.tsdbConsole.chartState(); return s && s.forecastRows > 0 && s", "the forecast", 120)
    check(st["forecastRows"] == 24 and st["bands"] == 1, f"24 forecast rows with a band: {st}")
    check(st["dataLengths"] == [168] * 5, "series, forecast, _fhigh, _flow over 144 + 24 x values")
    check(st["model"].startswith("auto(period=12)"), f"model_info shown: {st['model']}")
    check(b.text("#fc-model").startswith("Forecast by auto: auto(period=12)"), "the model line")
    b.type("#ad-opts", "k=2")
    b.js("document.getElementById('ad-algo').value = 'ksigma'")
    b.click("#ad-run")
    st = b.wait("const s = window.tsdbConsole.chartState(); return s && s.windows > 0 && s", "the anomaly windows")
    check(st["windows"] == 2 and st["forecastRows"] == 24, "two windows shaded, the forecast kept")
    cells = b.js("return [...document.querySelectorAll('#ad-grid tbody tr')].map(r => r.cells[0].textContent)")
    check(cells == ["1959-07-01T00:00:00Z", "1960-06-01T00:00:00Z"], f"the windows listed: {cells}")
    # what the canvas holds: a pixel inside the first window (above the
    # line) is shaded red, one inside the band (between the forecast and
    # _fhigh) orange
    px = b.js("""
        const p = window.tsdbConsole.probes(), ctx = document.querySelector('#chart canvas').getContext('2d');
        const at = ([x, y]) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data);
        return {window: at(p.window), band: at(p.band), plain: at(p.plain)};""")
    w, band, plain = px["window"], px["band"], px["plain"]
    check(w[0] > w[2] + 20 and w[3] > 0, f"the anomaly window is shaded red on the canvas: rgba {w}")
    check(band[0] > band[2] + 20 and band[3] > 0, f"the forecast band is shaded on the canvas: rgba {band}")
    check(plain[3] == 0, f"outside them the canvas is clear: rgba {plain}")
    b.js("window.scrollTo(0, 0)")
    b.screenshot(os.path.join(shots, "console-explore.png"))

    # --- a long series: 200,000 points drawn, then zoomed
    b.js("const s = document.getElementById('ex-db'); s.value = 'big'; s.dispatchEvent(new Event('change'))")
    b.wait("return document.getElementById('ex-table').value === 's' && document.getElementById('ex-col').value === 'v'",
           "the long series' table")
    t0 = time.monotonic()
    b.click("#ex-draw")
    st = b.wait("const s = window.tsdbConsole.chartState(); return s && s.points === 200000 && s", "200,000 points", 120)
    drawn = time.monotonic() - t0
    zoom = b.js_async("""
        const done = arguments[arguments.length - 1], u = window.tsdbConsole.chart();
        const times = [];
        const step = (k) => {
          if (k === 10) return done(times);
          const {min, max} = u.scales.x, w = (max - min) * 0.1;
          const t0 = performance.now();
          u.setScale('x', k % 2 ? {min: min - w, max: max + w} : {min: min + w, max: max - w});
          requestAnimationFrame(() => { times.push(performance.now() - t0); step(k + 1); });
        };
        step(0);""")
    zoom.sort()
    median = zoom[len(zoom) // 2]
    check(drawn < 30, f"200,000 points queried and drawn in {drawn:.2f} s")
    check(median < 250, f"a zoom redraws 200,000 points in {median:.1f} ms (median of 10; max {zoom[-1]:.1f})")
    with open(os.path.join(shots, "console-timings.json"), "w") as f:
        json.dump({"points": 200000, "query_and_draw_s": round(drawn, 3),
                   "zoom_redraw_ms_median": round(median, 1), "zoom_redraw_ms_max": round(zoom[-1], 1)}, f)

    # --- operations: anodes, streams (Kill), subscriptions, databases
    b.click("#tab-ops")
    b.wait("return document.querySelectorAll('#ops-dbs tbody tr').length > 0", "the operations tables")
    an = b.js("return [...document.querySelectorAll('#ops-anodes tbody tr td')].map(t => t.textContent)")
    check(an[2] == "ready" and len(an) == 6 and an[5], f"the anode is ready, checked just now: {an}")
    streams = b.js("return [...document.querySelectorAll('#ops-streams tbody tr')].map(r => r.cells[3].textContent)")
    check(streams == ["avg_pass"], f"the stream listed: {streams}")
    lag = b.js("return document.querySelector('#ops-streams tbody tr').cells[1].textContent")
    check(lag.endswith("behind") or lag == "on time" or lag == "NULL", f"its lag: {lag}")
    subs = b.js("return [...document.querySelectorAll('#ops-subs tbody tr')].map(r => [r.cells[0].textContent, r.cells[2].textContent])")
    check(subs == [["console_topic", "1"]], f"the subscription and its tables: {subs}")
    dbs = b.js("return [...document.querySelectorAll('#ops-dbs tbody tr')].map(r => r.cells[0].textContent)")
    check(dbs == ["big", "demo"], f"databases with sizes: {dbs}")
    b.screenshot(os.path.join(shots, "console-ops.png"))
    b.js("window.confirm = () => true")
    b.click("#ops-streams tbody tr button")
    b.wait("return document.querySelectorAll('#ops-streams tbody tr').length === 0", "the stream killed")
    check(True, "Kill removed the stream")

    # --- good behaviour: nothing from elsewhere, a narrow window, keyboard
    foreign = b.js("return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))")
    check(foreign == [], f"no request to another origin: {foreign}")
    b.resize(420, 900)
    b.click("#tab-explore")
    time.sleep(0.5)
    over = b.js("return document.documentElement.scrollWidth - window.innerWidth")
    check(over <= 1, f"a 420 px window needs no sideways scrolling ({over} px over)")
    b.screenshot(os.path.join(shots, "console-narrow.png"))
    b.resize(1280, 900)
    focused = b.js("""
        document.getElementById('tab-explore').focus();
        document.getElementById('tab-explore').dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
        return [document.activeElement.id, document.getElementById('view-ops').hidden];""")
    check(focused == ["tab-ops", False], "arrow keys move between the views")

    # --- credentials refused mid-session: the sign-in form says so
    b.js("sessionStorage.setItem('tsdb.token', 'expired'); location.hash = '#sql'; location.reload()")
    time.sleep(0.5)
    b.wait("return document.readyState === 'complete' && !document.getElementById('tabs').hidden", "reload")
    b.type("#sql-text", "show databases")
    b.click("#sql-run")
    msg = b.wait("const e = document.getElementById('login'); return !e.hidden && document.getElementById('login-error').textContent",
                 "the refusal of an expired session")
    check(msg.startswith("The server refused this session's credentials (0x"), f"an expired session is told: {msg}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--shots", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    ap.add_argument("--firefox", default=None, help="drive this Firefox instead of Chromium")
    a = ap.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    b = Firefox(a.firefox) if a.firefox else Chromium(a.chromium, a.chromedriver)
    try:
        run(b, a.url.rstrip("/"), a.shots)
    except Exception:
        try:
            b.screenshot(os.path.join(a.shots, "console-failure.png"))
            print("screenshot of the failure:", os.path.join(a.shots, "console-failure.png"), file=sys.stderr)
        except Exception:
            pass
        raise
    finally:
        b.close()
    print("tests/console.py: all passed")


if __name__ == "__main__":
    main()
