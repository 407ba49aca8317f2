#!/usr/bin/env python3
"""report.html of recorded runs in a real browser: Debian's headless Chromium,
driven by Debian's chromedriver over WebDriver (standard library only).

For each recording: `oomharness evaluate SCENARIO RECORDING --out DIR` writes the
run folder; the page is opened from the file, a screenshot taken, and the test
fails on any console message of level SEVERE (a script error, a resource that
did not load, a Content-Security-Policy violation: the page may load nothing),
on a missing chart, and on any kernel OOM kill of the recording without its
marker (and the explanation it links to) in the rendered DOM. A page with a
console error of its own first proves that such errors are caught.

Usage: browser_test.py OOMHARNESS SOURCE_DIR OUT_DIR   (screenshots are left in OUT_DIR)
"""
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

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# recording, scenario: a global kill on both releases, a group kill, memcg kills on both,
# and a burst with kills the kernel printed without a report. The burst was recorded with
# start_after 8s (tests/checks/fixtures.hpp), so it is judged against the shipped scenario
# with --rejudge: its report also shows note.rejudged.
RECORDINGS = [
    ("recorded-three-services-bookworm.jsonl", "three-services.json"),
    ("recorded-three-services-trixie.jsonl", "three-services.json"),
    ("recorded-image-worker-trixie.jsonl", "image-worker.json"),
    ("recorded-memorymax-contained-trixie.jsonl", "memorymax-contained.json"),
    ("recorded-memorymax-contained-bookworm.jsonl", "memorymax-contained.json"),
    ("recorded-burst-many-small-bookworm.jsonl", "burst-many-small.json"),
]


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode() or "{}").get("value")
        except urllib.error.HTTPError as e:
            fail("%s %s: HTTP %d %s" % (method, path, e.code, e.read().decode(errors="replace")[:2000]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def start(self, profile):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,2200", "--hide-scrollbars", "--user-data-dir=" + profile]},
            "goog:loggingPrefs": {"browser": "ALL"}}}}
        self.session = self.call("POST", "/session", caps, timeout=120)["sessionId"]

    def open(self, path):
        self.s("POST", "/url", {"url": "file://" + path})
        for _ in range(100):
            if self.js("return document.readyState") == "complete":
                return
            time.sleep(0.1)
        fail(path + ": never finished loading")

    def js(self, script):
        return self.s("POST", "/execute/sync", {"script": script, "args": []})

    def console(self):
        return self.s("POST", "/se/log", {"type": "browser"}) or []

    def screenshot(self, png):
        with open(png, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))


def kills_in(recording):
    pids = []
    with open(recording, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("type") == "oom_kill":
                pids.append(r["pid"])
    return pids


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    oomharness, source, out = sys.argv[1:4]
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            fail(tool + " is missing: scripts/bootstrap installs Debian's chromium and chromium-driver")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="oomharness-browser-")
    port = free_port()
    log = open(os.path.join(work, "chromedriver.log"), "w")
    driver_proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port], stdout=log, stderr=subprocess.STDOUT)
    began = time.monotonic()
    try:
        d = Driver(port)
        for _ in range(100):
            try:
                urllib.request.urlopen(d.base + "/status", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        d.start(os.path.join(work, "profile"))

        # The check itself works: a page that logs an error is caught.
        canary = os.path.join(work, "canary.html")
        with open(canary, "w") as f:
            f.write("<!DOCTYPE html><title>canary</title><script>console.error('canary error')</script>")
        d.open(canary)
        if not any(e.get("level") == "SEVERE" and "canary error" in e.get("message", "") for e in d.console()):
            fail("a console.error was not seen: the console check does not work")

        for recording, scenario in RECORDINGS:
            name = recording[len("recorded-"):-len(".jsonl")]
            run = os.path.join(work, name)
            rec_path = os.path.join(source, "tests/checks/fixtures", recording)
            rejudge = ["--rejudge"] if "burst" in name else []
            p = subprocess.run([oomharness, "evaluate", os.path.join(source, "scenarios", scenario), rec_path,
                                "--out", run] + rejudge, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode not in (0, 1, 3) or not os.path.exists(os.path.join(run, "report.html")):
                fail("%s: evaluate exited %d without report.html:\n%s" % (name, p.returncode, p.stdout))
            page = os.path.join(run, "report.html")
            d.console()  # drop what earlier pages logged
            t0 = time.monotonic()
            d.open(page)
            dom = d.js("""
              const svg = document.getElementById('timeline-chart');
              const box = svg ? svg.getBoundingClientRect() : null;
              const marks = [...document.querySelectorAll('#timeline-chart .kill-marker')];
              return {
                chart: !!svg, width: box ? box.width : 0, height: box ? box.height : 0,
                unitLines: document.querySelectorAll('#timeline-chart .unit-line').length,
                markerPids: marks.map(m => Number(m.getAttribute('data-pid'))),
                markersShown: marks.filter(m => m.getBoundingClientRect().height > 0).length,
                links: marks.map(m => m.parentElement.getAttribute('href')),
                targets: marks.map(m => !!document.querySelector(m.parentElement.getAttribute('href'))),
                whys: document.querySelectorAll('section.kill p.why').length,
                victims: document.querySelectorAll('table.candidates tr.victim').length,
                scripts: document.scripts.length,
                external: [...document.querySelectorAll('[src],[href]')]
                  .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('#')),
              };""")
            png = os.path.join(out, name + ".png")
            d.screenshot(png)
            took = time.monotonic() - t0
            errors = [e for e in d.console() if e.get("level") == "SEVERE"]
            pids = kills_in(rec_path)
            problems = []
            if errors:
                problems.append("console errors: " + json.dumps(errors))
            if not dom["chart"] or dom["width"] < 600 or dom["height"] < 300:
                problems.append("no chart rendered (%s x %s)" % (dom["width"], dom["height"]))
            if dom["unitLines"] == 0:
                problems.append("no memory line in the chart")
            if sorted(dom["markerPids"]) != sorted(pids):
                problems.append("kill markers for pids %s, the recording killed %s" % (sorted(dom["markerPids"]), sorted(pids)))
            if dom["markersShown"] != len(pids):
                problems.append("%d of %d kill markers have no size on the page" % (len(pids) - dom["markersShown"], len(pids)))
            if not all(dom["targets"]):
                problems.append("a kill marker links nowhere: %s" % dom["links"])
            if dom["whys"] == 0 or dom["victims"] == 0 and "burst" not in name:
                problems.append("no 'why this victim' (%d) or no victim row (%d)" % (dom["whys"], dom["victims"]))
            if dom["scripts"] or dom["external"]:
                problems.append("scripts %d, external references %s" % (dom["scripts"], dom["external"]))
            if os.path.getsize(png) < 20000 or open(png, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
                problems.append("screenshot %s is not a real picture" % png)
            print("%s: %d bytes, %d kill markers, chart %.0fx%.0f, rendered and checked in %.2f s, screenshot %s"
                  % (name, os.path.getsize(page), len(dom["markerPids"]), dom["width"], dom["height"], took, png),
                  flush=True)
            if problems:
                fail(name + ": " + "; ".join(problems))
        d.s("DELETE", "")
    finally:
        driver_proc.terminate()
        try:
            driver_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    print("browser test passed in %.1f s" % (time.monotonic() - began))


if __name__ == "__main__":
    main()
