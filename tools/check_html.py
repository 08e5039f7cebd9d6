"""Open exported pages in a real headless browser and check that they read without a network.

    python tools/check_html.py [docs/notebooks/*.html] [--chromium chromium] [--min-images 0]

For each page, Chromium (Debian's ``chromium`` package: ``apt-get install -y chromium``) loads it
from the file system with every network request blocked, driven through the DevTools protocol
(``websocket-client``, which the Jupyter stack installs). The check reports and requires:

* no request leaves the file: every URL the page asks for is ``file:`` or ``data:`` (a script,
  font, stylesheet or image from a CDN fails the page);
* no JavaScript error, and on a page with scripts no 'undefined' / 'NaN' / '[object Object]' in its text;
* every ``<img>`` loaded (``naturalWidth > 0``), and ``--min-images`` at least;
* every MathML formula laid out with a non-zero size (Chromium renders MathML natively);
* on pages with select boxes (the explorer), every option of every select is chosen in turn, and
  every image must still load after each switch.

Exit 0 when every page passes, 1 otherwise (2: Chromium or a page is missing).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COUNT_JS = r"""(() => {
  const imgs = [...document.images];
  const math = [...document.getElementsByTagName('math')];
  return JSON.stringify({
    images: imgs.length,
    images_loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    math: math.length,
    math_rendered: math.filter(m => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length,
    videos: document.getElementsByTagName('video').length,
    selects: [...document.getElementsByTagName('select')].map(s => s.options.length),
    // only where a script fills the page in (a notebook's table may hold a real NaN)
    undefined_text: document.scripts.length > 0 && /\b(undefined|NaN|\[object Object\])\b/.test(document.body.innerText),
  });
})()"""

SWITCH_JS = r"""(async () => {
  const sel = [...document.getElementsByTagName('select')];
  let switches = 0, bad = [];
  const settle = () => new Promise(r => setTimeout(r, 30));
  for (const s of sel) {
    const keep = s.selectedIndex;
    for (let k = 0; k < s.options.length; k++) {
      s.selectedIndex = k; s.dispatchEvent(new Event('change')); switches++;
      await settle();
      await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
      const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length;
      if (broken) bad.push(`${s.id || s.name}=${s.options[k].value}: ${broken} image(s) not loaded`);
    }
    s.selectedIndex = keep; s.dispatchEvent(new Event('change'));
  }
  return JSON.stringify({switches, bad});
})()"""


class Browser:
    """One headless Chromium with the DevTools protocol on a local port; network requests fail."""

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="check_html_")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError("chromium did not open its DevTools port in 30 s")
        self.port = int(port_file.read_text().split()[0])

    def open(self, url: str, timeout: float = 60.0) -> dict:
        """Load ``url`` in a fresh tab; return the counts, the requests and any JS errors."""
        import websocket
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        target = json.loads(urllib.request.urlopen(req, timeout=10).read())
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout)
        msg_id, requests, errors = 0, [], []

        def call(method, **params):
            nonlocal msg_id
            msg_id += 1
            ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                m = json.loads(ws.recv())
                if m.get("id") == msg_id:
                    if "error" in m:
                        raise RuntimeError(f"{method}: {m['error']}")
                    return m.get("result", {})
                events.append(m)

        def drain(m):
            if m.get("method") == "Network.requestWillBeSent":
                requests.append(m["params"]["request"]["url"])
            elif m.get("method") == "Runtime.exceptionThrown":
                errors.append(m["params"]["exceptionDetails"].get("text", "exception"))
            elif m.get("method") == "Page.loadEventFired":
                return True
            return False

        events: list = []
        try:
            call("Network.enable"); call("Page.enable"); call("Runtime.enable")
            call("Page.navigate", url=url)
            loaded, t0 = any(drain(e) for e in events), time.time()
            events.clear()
            while not loaded and time.time() - t0 < timeout:
                loaded = drain(json.loads(ws.recv()))
            for e in events:
                drain(e)
            events.clear()
            res = json.loads(call("Runtime.evaluate", expression=COUNT_JS, returnByValue=True)["result"]["value"])
            if res["selects"]:
                sw = call("Runtime.evaluate", expression=SWITCH_JS, awaitPromise=True, returnByValue=True)
                res.update(json.loads(sw["result"]["value"]))
            for e in events:
                drain(e)
            res.update(loaded=loaded, requests=requests, errors=errors)
            return res
        finally:
            ws.close()
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/close/{target['id']}", timeout=10)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems(res: dict, min_images: int = 0) -> list[str]:
    """What is wrong with one page's result (empty: it passes)."""
    bad = []
    if not res["loaded"]:
        bad.append("the load event never fired")
    external = [u for u in res["requests"] if not u.startswith(("file:", "data:", "about:"))]
    bad += [f"request leaves the file: {u[:120]}" for u in external]
    bad += [f"javascript error: {e}" for e in res["errors"]]
    if res["images_loaded"] < res["images"]:
        bad.append(f"{res['images'] - res['images_loaded']} of {res['images']} images did not load")
    if res["images"] < min_images:
        bad.append(f"{res['images']} images, fewer than {min_images}")
    if res["math_rendered"] < res["math"]:
        bad.append(f"{res['math'] - res['math_rendered']} of {res['math']} formulas not rendered")
    if res["undefined_text"]:
        bad.append("the page shows 'undefined', 'NaN' or '[object Object]' (a script filled in a missing value)")
    bad += res.get("bad", [])
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="*", help="HTML files (default: docs/notebooks/*.html)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    ap.add_argument("--min-images", type=int, default=0, help="each page must show at least this many images")
    args = ap.parse_args(argv)
    pages = [Path(p) for p in args.pages] or sorted((ROOT / "docs" / "notebooks").glob("*.html"))
    missing = [p for p in pages if not p.is_file()]
    if not pages or missing:
        print(f"check_html: error: no such page: {missing or 'docs/notebooks/*.html'}", file=sys.stderr)
        return 2
    if not shutil.which(args.chromium):
        print("check_html: error: chromium not found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    browser, failed = Browser(args.chromium), 0
    try:
        for p in pages:
            res = browser.open(p.resolve().as_uri())
            bad = problems(res, args.min_images if p.name != "index.html" else 0)
            failed += bool(bad)
            sw = f", {res['switches']} select switches" if "switches" in res else ""
            line = (f"{res['images_loaded']}/{res['images']} images loaded, {res['math_rendered']}/{res['math']} "
                    f"formulas rendered, {res['videos']} videos, {len(res['requests'])} requests (all file/data){sw}")
            print(f"FAIL {p.name}: " + "; ".join(bad) if bad else f"ok   {p.name}: {line}", flush=True)
    finally:
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
