#!/usr/bin/env python3
"""render_report.py: a report page as Chromium shows it -- a screenshot of
the whole page (every pixel of its height, not a window's worth) and what
the browser saw: each <img> and whether it loaded, the page's size.

    render_report.py PAGE.html OUT.png [--width 1280] [--json FILE] [--slice PX]

--slice PX also writes the page in pieces PX pixels tall (OUT-01.png, ...),
for viewers that shrink a 16 000 px image to illegibility.

Talks to headless Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: file descriptors 3 and 4, NUL-terminated JSON
messages), so it needs nothing but the browser and the standard library,
and no network: every network feature is off, and a report needs none (no
script, no remote resource).  Exit status: 0 when the page rendered and
every image loaded, 1 when an image did not load (listed on stderr), 2 when
Chromium is missing or failed.  Used by scripts/screenshot-report and
sim/cli/report_browser_test.sh.
"""
import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    """One headless Chromium and one page, driven over the pipe."""

    def __init__(self, exe, profile):
        to_r, to_w = os.pipe()  # we write, Chromium reads fd 3
        from_r, from_w = os.pipe()  # Chromium writes fd 4, we read
        # Above 4, so that dup2 onto 3 and 4 never finds its own source there.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_r, from_w)]
        for fd in (to_r, from_w):
            os.close(fd)
        to_r, from_w = high

        def child_fds():
            os.dup2(to_r, 3)  # dup2 clears close-on-exec on 3 and 4 only
            os.dup2(from_w, 4)

        # Chromium refuses to run as root without --no-sandbox; the page is ours.
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        os.close(to_r)
        os.close(from_w)
        self.out = os.fdopen(to_w, "wb", buffering=0)
        self.inp = os.fdopen(from_r, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _read(self):
        while b"\0" not in self.buf:
            chunk = self.inp.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe: " +
                                   self.proc.stderr.read().decode(errors="replace")[-2000:])
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    del self.events[i]
                    return ev
            self.events.append(self._read())
        raise RuntimeError(f"no {method} within {timeout} s")

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


PAGE_FACTS = """JSON.stringify({
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  images: Array.from(document.images).map(i => ({
    src: i.getAttribute('src'), complete: i.complete, naturalWidth: i.naturalWidth})),
})"""


def render(exe, page, out, width, slice_px=0):
    profile = tempfile.mkdtemp(prefix="render-report.")
    b = Browser(exe, profile)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)
        b.session = b.call("Target.attachToTarget",
                           {"targetId": target["targetId"], "flatten": True},
                           session=False)["sessionId"]
        b.call("Page.enable")
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        b.call("Page.navigate", {"url": "file://" + os.path.abspath(page)})
        b.wait_event("Page.loadEventFired", 60)
        facts = json.loads(b.call("Runtime.evaluate", {"expression": PAGE_FACTS,
                                                       "returnByValue": True})["result"]["value"])
        # The whole page: a viewport as tall as the page, then one capture.
        height = max(1, facts["height"])
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        shot = b.call("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        stem = out[:-4] if out.endswith(".png") else out
        for k, top in enumerate(range(0, height, slice_px) if slice_px > 0 else []):
            piece = b.call("Page.captureScreenshot",
                           {"format": "png", "captureBeyondViewport": True,
                            "clip": {"x": 0, "y": top, "width": width,
                                     "height": min(slice_px, height - top), "scale": 1}})
            with open(f"{stem}-{k + 1:02d}.png", "wb") as f:
                f.write(base64.b64decode(piece["data"]))
        return facts
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--json", help="write what the browser saw (size, images) here")
    ap.add_argument("--slice", type=int, default=0, metavar="PX",
                    help="also write the page in pieces PX pixels tall: OUT-01.png, ...")
    a = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("render_report: chromium is not installed (as root: apt-get install chromium)",
              file=sys.stderr)
        return 2
    try:
        facts = render(exe, a.page, a.out, a.width, a.slice)
    except (RuntimeError, OSError) as e:
        print(f"render_report: {e}", file=sys.stderr)
        return 2
    if a.json:
        with open(a.json, "w") as f:
            json.dump(facts, f, indent=1)
    broken = [i["src"] for i in facts["images"] if not i["complete"] or i["naturalWidth"] <= 0]
    for src in broken:
        print(f"render_report: {a.page}: image did not load: {src}", file=sys.stderr)
    print(f"{a.out}: {a.width}x{facts['height']} px, {len(facts['images'])} images, "
          f"{len(broken)} not loaded")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
