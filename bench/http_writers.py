"""Posts prepared bodies to one URL from several threads (the ingest
benchmarks' client: bench/lp_client.py, bench/sql_client.py).

    secs = post_all(url, bodies, writers, headers, ok)

Each thread keeps one keep-alive connection and takes the next body until
none is left; `ok(status, answer)` says whether an answer is a success.
The first failure stops the run with SystemExit. Returns the seconds from
the first post to the last answer.
"""

import http.client
import queue
import threading
import time
import urllib.parse


def post_all(url, bodies, writers, headers, ok):
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    work = queue.Queue()
    for b in bodies:
        work.put(b)
    errors = []

    def writer():
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
            while not errors:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                conn.request("POST", path, body=body, headers=headers)
                r = conn.getresponse()
                answer = r.read()
                if not ok(r.status, answer):
                    errors.append(f"HTTP {r.status}: {answer[:300]!r}")
                    return
        except OSError as e:
            errors.append(f"{url}: {e}")

    started = time.monotonic()
    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - started
    if errors:
        raise SystemExit(errors[0])
    return secs
