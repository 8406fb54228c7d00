"""A small driver for a headless Chromium over its DevTools protocol (CDP),
for the browser tests: Debian's chromium and python3-websocket, nothing else.

    with Browser() as b:
        b.open("http://127.0.0.1:5555/ui/login")
        b.type("#u", "alice")
        b.click("button")           # a real mouse click at the element's centre
        b.wait("location.pathname === '/ui/'")

The browser runs with a temporary profile in its own process group, which
close() kills whatever happened.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

try:
    import websocket
except ImportError:  # the test skips with the reason
    websocket = None


def find_chromium():
    """The Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, exe=None, width=390, height=844, timeout=30):
        self.exe = exe or find_chromium()
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="ankicollab-chromium-")
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.events = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        if self.exe is None:
            raise CDPError("no chromium found")
        if websocket is None:
            raise CDPError("python3-websocket is missing")
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        # As root Chromium needs --no-sandbox; headless=new is the full browser.
        self.proc = subprocess.Popen(
            [self.exe, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--mute-audio", "--password-store=basic",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            start_new_session=True)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited with {self.proc.returncode}: {self.tail()}")
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise CDPError(f"chromium did not start: {self.tail()}")
                time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                    timeout=self.timeout) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        if not pages:
            raise CDPError("chromium has no page")
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"],
                                              timeout=self.timeout, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=True)

    def tail(self):
        try:
            with open(os.path.join(self.profile, "chromium.log"), "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def close(self):
        try:
            if self.ws is not None:
                try:
                    self.ws.send(json.dumps({"id": 10 ** 6, "method": "Browser.close"}))
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.proc is not None:
                # Its own process group: the renderers and zygotes go with it.
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
                self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    # ---- the protocol ------------------------------------------------------------------

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise CDPError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, what=None):
        """Polls a JavaScript expression until it is true."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if self.eval(expr):
                    return
            except CDPError:
                pass  # the page is being replaced
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or expr}; page: "
                                     f"{self.eval('location.href')} "
                                     f"{self.eval('document.body && document.body.innerText')}")
            time.sleep(0.05)

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def text(self):
        return self.eval("document.body ? document.body.innerText : ''")

    def html(self):
        return self.eval("document.documentElement.outerHTML")

    def type(self, selector, text):
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def click(self, selector):
        """A mouse press and release at the centre of the element, as a finger would."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()""")
        if box is None:
            raise AssertionError(f"no element {selector} on {self.eval('location.href')}")
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)
