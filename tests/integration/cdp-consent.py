#!/usr/bin/env python3
# cdp-consent.py URL — a signer in a real browser: headless Chromium, driven
# over the DevTools protocol (--remote-debugging-pipe, no extra packages),
# opens inkan's consent page, records what the page shows, types the
# credentials a person would type, presses the approve button and follows
# the redirect to the client. Used as $BROWSER by t-oauth-browser.sh, so
# inkan-sign starts it with the consent URL.
#
# Environment: CONSENT_USER, CONSENT_PASSWORD, CONSENT_PIN, CONSENT_OTP (the
# last two only typed when the page asks for them), CONSENT_LOG (a JSON line
# per page is appended: what was shown and where the browser ended),
# CHROMIUM (default chromium), CHROMIUM_SPKI (base64 SHA-256 of the server
# key: the only certificate this browser accepts without a known CA),
# CONSENT_ACTION (approve | deny). Exit 0 when the browser reached the
# redirect URI.
import base64
import json
import os
import shutil
import sys
import tempfile
import time


class Browser:
    def __init__(self, chromium, spki):
        self.profile = tempfile.mkdtemp(prefix="inkan-chromium-")
        to_r, to_w = os.pipe()        # we write commands, Chromium reads fd 3
        from_r, from_w = os.pipe()    # Chromium writes fd 4, we read
        # Move the child's ends out of the way of 3/4 before dup2.
        a = os.dup(to_r)
        b = os.dup(from_w)
        os.close(to_r)
        os.close(from_w)
        args = [chromium, "--headless=new", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + self.profile,
                "--remote-debugging-pipe", "about:blank"]
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + spki)
        self.log = open(os.path.join(self.profile, "chromium.log"), "w")
        self.pid = os.posix_spawnp(args[0], args, dict(os.environ), file_actions=[
            (os.POSIX_SPAWN_DUP2, a, 3),
            (os.POSIX_SPAWN_DUP2, b, 4),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 2),
        ])
        os.close(a)
        os.close(b)
        self.w = to_w
        self.r = from_r
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            import select
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 65536)
            if not chunk:
                raise EOFError("Chromium went away")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, name, pred=lambda p: True, timeout=15):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == name and pred(e.get("params", {})):
                    del self.events[: i + 1]
                    return e["params"]
            self.events.append(self._read_msg(deadline))

    def attach(self):
        targets = self.call("Target.getTargets", session=False)["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def navigate(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def type_into(self, selector, text):
        # Focus the field and type, as a person would (no value= setting).
        doc = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector",
                         {"nodeId": doc, "selector": selector})["nodeId"]
        if not node:
            return False
        self.call("DOM.focus", {"nodeId": node})
        self.call("Input.insertText", {"text": text})
        return True

    def click(self, selector):
        doc = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector",
                         {"nodeId": doc, "selector": selector})["nodeId"]
        self.call("DOM.scrollIntoViewIfNeeded", {"nodeId": node})
        box = self.call("DOM.getBoxModel", {"nodeId": node})["model"]["content"]
        x = (box[0] + box[2]) / 2
        y = (box[1] + box[5]) / 2
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y,
                                                   "button": "left",
                                                   "clickCount": 1})

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        for _ in range(50):
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


PAGE_INFO = """(() => {
  const q = s => document.querySelector(s);
  const t = s => q(s) ? q(s).textContent : null;
  return {
    title: document.title,
    lang: document.documentElement.lang,
    client: t('#client'),
    subject: t('#subject'),
    count: t('#count'),
    description: t('#description'),
    hashes: [...document.querySelectorAll('code.hash')].map(e => e.textContent),
    labels: [...document.querySelectorAll('.label')].map(e => e.textContent),
    asks_pin: !!q('input[name=pin]'),
    asks_otp: !!q('input[name=otp]'),
    error: t('#error'),
    scripts: document.scripts.length,
    stylesheet_applied: getComputedStyle(document.querySelector('main') ||
        document.body).maxWidth !== 'none',
  };
})()"""


def main():
    url = sys.argv[1]
    log = os.environ.get("CONSENT_LOG")
    b = Browser(os.environ.get("CHROMIUM", "chromium"),
                os.environ.get("CHROMIUM_SPKI"))
    rec = {"url": url}
    rc = 1
    try:
        b.attach()
        b.call("DOM.enable")
        b.navigate(url)
        rec["page"] = b.eval(PAGE_INFO)
        if os.environ.get("CONSENT_ACTION", "approve") == "deny":
            b.click("#deny")
        else:
            b.type_into("input[name=username]", os.environ["CONSENT_USER"])
            b.type_into("input[name=password]", os.environ["CONSENT_PASSWORD"])
            if rec["page"]["asks_pin"]:
                b.type_into("input[name=pin]", os.environ["CONSENT_PIN"])
            if rec["page"]["asks_otp"]:
                b.type_into("input[name=otp]", os.environ["CONSENT_OTP"])
            b.click("#approve")
        # The form posts; inkan answers 303 and the browser follows it to
        # the client's redirect URI, or shows the page again with an error.
        b.wait_event("Page.loadEventFired")
        rec["final_url"] = b.eval("location.href")
        rec["final_text"] = b.eval("document.body.innerText")
        if rec["final_url"].startswith(url.split("?")[0]):
            rec["failure"] = "still on the consent page: %s" % b.eval(
                "(document.querySelector('.error') || {}).textContent")
        else:
            rc = 0
    except Exception as e:  # the log says what happened
        rec["failure"] = repr(e)
        try:
            rec["at"] = b.eval("location.href")
            rec["text"] = b.eval("document.body.innerText")[:500]
        except Exception:
            pass
    finally:
        b.close()
        if log:
            with open(log, "a") as f:
                f.write(json.dumps(rec) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
