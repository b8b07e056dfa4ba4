"""The built book in headless Chromium: every page of the table of contents is opened at 1400 px and
checked for images that did not load, internal links that lead nowhere, tables wider than the
article column, and console errors from the site's own files.

Chromium is driven over the DevTools protocol (a websocket to ``--remote-debugging-port``), so no
browser-automation package and no network are needed; the module is skipped without Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 1000
CHROMIUM = os.environ.get("NEVOLAB_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
if CHROMIUM is None:
    pytest.skip("chromium not found: apt-get install chromium", allow_module_level=True)

from websockets.sync.client import connect  # noqa: E402  (only needed once Chromium exists)

# Runs in each page once it has loaded: waits for every image, then measures. A table is too wide
# when it is wider than any element between it and the article (the article included): that
# element then either scrolls sideways (myst-nb's output areas are `overflow-x: auto`, so a wide
# claims table hides its last column, the verdict, behind a scroll bar) or lets the table spill
# into the right-hand margin. A table whose cells wrap to fit passes. Elements with no width of
# their own (inline, `display: contents`) are not containers and are passed over.
MEASURE = """(async () => {
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].slice(0, 3).map(c => '.' + c).join('');
  const article = document.querySelector('article.bd-article') || document.body;
  const tables = [...article.querySelectorAll('table')].map(table => {
    let narrowest = null;
    for (let el = table.parentElement; el; el = el.parentElement) {
      if (el.clientWidth > 0 && (!narrowest || el.clientWidth < narrowest.clientWidth)) narrowest = el;
      if (el === article) break;
    }
    const head = table.tHead ? [...table.tHead.querySelectorAll('th')] : [...(table.rows[0]?.cells ?? [])];
    const header = head.map(th => th.textContent.trim()).filter(Boolean).join(' | ');
    return {table: name(table), header: header.slice(0, 120),
            width: Math.ceil(Math.max(table.scrollWidth, table.getBoundingClientRect().width)),
            container: narrowest ? name(narrowest) : 'none',
            container_width: narrowest ? narrowest.clientWidth : 0};
  });
  return {
    images: [...document.images].map(img => ({src: img.src, width: img.naturalWidth})),
    links: [...document.querySelectorAll('a[href]')].map(a => ({raw: a.getAttribute('href'), url: a.href})),
    ids: [...document.querySelectorAll('[id], a[name]')].map(el => el.id || el.getAttribute('name')),
    tables: tables,
  };
})()"""


class DevTools:
    """A minimal synchronous DevTools-protocol client for one page target."""

    def __init__(self, websocket_url: str):
        self.socket = connect(websocket_url, max_size=None, proxy=None, open_timeout=30)
        self.events: list[dict] = []
        self.last_id = 0

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=timeout))
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        """Block until ``event`` arrives (or has already arrived since the events were cleared)."""
        while not any(message.get("method") == event for message in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=timeout)))


def _devtools_port(profile: Path, process: subprocess.Popen, log: Path, timeout: float = 60) -> int:
    """The port Chromium chose (``--remote-debugging-port=0`` writes it to DevToolsActivePort)."""
    deadline = time.monotonic() + timeout
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}: {log.read_text()[-2000:]}")
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text().split()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[DevTools]:
    """Headless Chromium with one 1400 px wide page; remote URLs are blocked (the checks are offline)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = profile.with_name(profile.name + ".log")  # a file, not a pipe nobody drains while it runs
    with log.open("w") as stderr:
        process = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                                    "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                    f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        port = _devtools_port(profile, process, log)
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost only
        with no_proxy.open(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            devtools.call(f"{domain}.enable")
        devtools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                      deviceScaleFactor=1, mobile=False)
        devtools.call("Network.setBlockedURLs", urls=["http://*", "https://*"])
        yield devtools
        devtools.socket.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def console_errors(events: list[dict]) -> list[tuple[str, str, str]]:
    """(kind, source URL, text) of every error the page logged: 'script' for console.error and
    uncaught exceptions, else the log's source ('network' for a failed load). An error that names
    no source has an empty URL."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            frames = params.get("stackTrace", {}).get("callFrames", [])
            args = params.get("args", [])
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in args)
            errors.append(("script", frames[0]["url"] if frames else "", text))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            errors.append(("script", details.get("url", ""), text.splitlines()[0] if text else ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            errors.append((entry.get("source", ""), entry.get("url", ""), entry.get("text", "")))
    return errors


# Upstream noise, not the book's: sphinx-thebe (pulled in by Jupyter Book 1.x) injects its inline
# `const THEBE_JS_URL = ...` config script twice into every page, and the second copy throws.
VENDOR_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


def ours(kind: str, url: str, text: str, site: str) -> bool:
    """Whether a console error is the book's own: raised in the site's pages or failing to load one
    of its files. Errors raised inside the theme's and extensions' scripts (`_static/`; the book
    ships no JavaScript of its own) and VENDOR_ERRORS are not; remote URLs are blocked, so their
    failed loads are not either. An error that names no source is counted, to be safe."""
    if any(known in text for known in VENDOR_ERRORS):
        return False
    if kind == "script" and url.startswith(site + "_static/"):
        return False
    return url.startswith(site) or not url


def open_page(devtools: DevTools, url: str) -> dict:
    """Load ``url``, wait for its images, and return what MEASURE found plus the console errors."""
    devtools.events.clear()
    navigated = devtools.call("Page.navigate", url=url)
    if navigated.get("errorText"):
        return {"error": navigated["errorText"], "images": [], "links": [], "ids": [], "tables": [],
                "console": []}
    devtools.wait_for("Page.loadEventFired")
    measured = devtools.call("Runtime.evaluate", expression=MEASURE, awaitPromise=True, returnByValue=True)
    if "exceptionDetails" in measured:
        raise RuntimeError(f"{url}: {measured['exceptionDetails']}")
    return {**measured["result"]["value"], "console": console_errors(devtools.events)}


class _Ids(HTMLParser):
    """Every id (and <a name>) in an HTML file, for links into pages that were not opened."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])


def _ids_in(path: Path) -> set[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return parser.ids


def site_problems(html: Path, reports: dict[str, dict]) -> dict[str, list[str]]:
    """The problems of each check ('images', 'links', 'tables', 'console') over the opened pages,
    keyed by check; each problem names its page. ``reports`` maps a page (relative to ``html``) to
    what ``open_page`` returned for it."""
    site = html.resolve().as_uri() + "/"
    ids = {page: set(report["ids"]) for page, report in reports.items()}
    problems: dict[str, list[str]] = {"images": [], "links": [], "tables": [], "console": []}
    for page, report in reports.items():
        if report.get("error"):
            problems["links"].append(f"{page}: could not be opened ({report['error']})")
        for image in report["images"]:
            if image["width"] == 0 and image["src"].startswith(site):  # remote images are not loaded
                problems["images"].append(f"{page}: <img src={image['src'][len(site):]}> did not load")
        for link in report["links"]:  # remote links are linkcheck's job (publish workflow)
            why = _broken(html, site, link["url"], ids) if link["url"].startswith("file:") else ""
            if why:
                problems["links"].append(f"{page}: href={link['raw']!r} {why}")
        for table in report["tables"]:
            if table["width"] > table["container_width"] + 1:
                problems["tables"].append(
                    f"{page}: {table['table']} [{table['header']}] is {table['width']} px wide, its "
                    f"container {table['container']} {table['container_width']} px")
        problems["console"] += [f"{page}: {kind} error from {url[len(site):] or '(no url)'}: {text}"
                                for kind, url, text in report["console"] if ours(kind, url, text, site)]
    return problems


def _broken(html: Path, site: str, url: str, ids: dict[str, set[str]]) -> str:
    """Why the file:// ``url`` is a broken internal link, or '' when it resolves."""
    parts = urlsplit(url)
    target = Path(unquote(parts.path))
    if not (url.startswith(site) or url.split("#")[0] == site.rstrip("/")):
        return "points outside the built site"
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return "points to a missing file"
    anchor = unquote(parts.fragment)
    if anchor and target.suffix == ".html":
        page = target.relative_to(html.resolve()).as_posix()
        if page not in ids:  # a page that was not opened, e.g. genindex.html
            ids[page] = _ids_in(target)
        if anchor not in ids[page]:
            return f"points to a missing anchor #{anchor}"
    return ""


def open_site(devtools: DevTools, html: Path, pages: list[str]) -> dict[str, dict]:
    """``open_page`` of every page (relative to ``html``)."""
    return {page: open_page(devtools, (html / page).resolve().as_uri()) for page in pages}


def toc_pages(toc: dict) -> list[str]:
    """The HTML page of every entry (root and files, depth first) of a Jupyter Book _toc.yml."""
    pages = [f"{toc['root']}.html"] if "root" in toc else []
    for key in ("parts", "chapters", "sections"):
        for entry in toc.get(key, []):
            pages += [f"{entry['file']}.html"] if "file" in entry else []
            pages += toc_pages({k: v for k, v in entry.items() if k != "file"})
    return pages


@pytest.fixture(scope="module")
def book_html(tmp_path_factory, default_book) -> tuple[Path, list[str]]:
    """The published book: the default-profile notebooks executed from the committed results (the
    ``default_book`` fixture), built as `make html` does, and its pages."""
    executed, *_ = default_book
    pages = toc_pages(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "book", site / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(ROOT / "_static", site / "_static")  # the book's CSS
    for notebook in executed.glob("*.ipynb"):
        shutil.copy(notebook, site / "book" / notebook.name)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, site / name)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jupyter_book), "build", ".", "--path-output", ".", "--keep-going"],
                          cwd=site, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    unresolved = [line for line in (done.stdout + done.stderr).splitlines()
                  if "warning" in line.lower() and "glue" in line.lower()]
    assert not unresolved, "computed numbers that did not reach the page:\n" + "\n".join(unresolved)
    return site / "_build" / "html", pages


@pytest.fixture(scope="module")
def book_reports(browser, book_html) -> dict[str, dict]:
    html, pages = book_html
    return open_site(browser, html, pages)


@pytest.mark.parametrize("check", ["images", "links", "tables", "console"])
def test_book_pages_in_chromium(book_html, book_reports, check):
    problems = site_problems(book_html[0], book_reports)[check]
    assert not problems, "\n".join(problems)


def test_book_pages_were_measured(book_html, book_reports):
    """The checks above saw the content: every page's links and images, and the claims tables."""
    for page, report in book_reports.items():
        assert report["links"], page
        assert len(report["images"]) == (book_html[0] / page).read_text().count("<img"), page
    assert sum(len(report["images"]) for report in book_reports.values()) > 0
    for claims in ("book/a3_claims.html", "book/b4_claims.html", "book/c3_claims.html"):
        assert book_reports[claims]["tables"], claims


def test_toc_pages_lists_every_entry():
    toc = {"root": "intro", "parts": [{"caption": "A", "chapters": [
        {"file": "a", "sections": [{"file": "a1"}, {"file": "a2", "sections": [{"file": "a2x"}]}]}]}]}
    assert toc_pages(toc) == ["intro.html", "a.html", "a1.html", "a2.html", "a2x.html"]


# A hand-made site with one fault of each kind, next to the same things done right.
FAULTY_PAGE = """<!doctype html><html><body><article class="bd-article" style="width: 600px">
<h1 id="top">Faulty</h1>
<img src="missing.png"><img src="ok.svg">
<a href="nowhere.html">a missing page</a> <a href="other.html#gone">a missing anchor</a>
<a href="../outside.html">outside</a>
<a href="other.html#here">fine</a> <a href="#top">fine</a> <a href="https://example.org/">remote</a>
<div style="overflow-x: auto"><table id="wide"><tr><th>claim</th><th>verdict</th></tr>
<tr><td style="white-space: nowrap">{long}</td><td>holds</td></tr></table></div>
<table id="narrow"><tr><th>claim</th><th>verdict</th></tr><tr><td>{long}</td><td>holds</td></tr></table>
<script>console.error("our own script failed");</script>
</article></body></html>"""


def test_checks_report_each_fault_on_a_faulty_site(browser, tmp_path):
    (tmp_path / "faulty.html").write_text(FAULTY_PAGE.replace("{long}", "a long claim " * 30))
    (tmp_path / "other.html").write_text('<!doctype html><p id="here">target</p>')
    (tmp_path / "ok.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    problems = site_problems(tmp_path, open_site(browser, tmp_path, ["faulty.html", "other.html"]))
    assert problems["images"] == ["faulty.html: <img src=missing.png> did not load"]
    assert sorted(problems["links"]) == [
        "faulty.html: href='../outside.html' points outside the built site",
        "faulty.html: href='nowhere.html' points to a missing file",
        "faulty.html: href='other.html#gone' points to a missing anchor #gone"]
    assert len(problems["tables"]) == 1 and "table#wide" in problems["tables"][0]
    assert "container div 600 px" in problems["tables"][0]
    assert any("our own script failed" in line for line in problems["console"])
    assert any("missing.png" in line for line in problems["console"])  # the failed load, too


def test_vendor_script_errors_are_not_ours_but_failed_loads_are():
    site = "file:///book/_build/html/"
    assert ours("script", site + "book/a3_claims.html", "TypeError: x is undefined", site)
    assert ours("network", site + "_static/styles/theme.css", "Failed to load resource", site)
    assert ours("script", "", "an error with no source", site)
    assert not ours("script", site + "_static/scripts/pydata-sphinx-theme.js", "invalid theme mode", site)
    assert not ours("script", site + "book/intro.html", f"SyntaxError: {VENDOR_ERRORS[0]}", site)
    assert not ours("network", "https://unpkg.com/thebe@0.8.2/lib/index.js", "blocked", site)
