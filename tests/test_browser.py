"""The built book in headless Chromium: every page of the table of contents is opened in a 1400 px
window (a desktop) and a 390 px one (a phone) and checked for images that did not load, internal
links that lead nowhere, tables that neither fit the article column nor scroll inside it (on a
desktop, a claims table's verdict column in view), words and numbers broken inside a table cell,
figure text smaller than the book's minimum as displayed, pages that scroll sideways, and console
errors from the site's own files.

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

from nevolab import plotting

ROOT = Path(__file__).resolve().parents[1]
#: The window widths every page is opened at: a desktop and a phone. At both a table that cannot fit
#: the text column scrolls sideways inside it; on a desktop a claims table's verdict column must
#: still be in view without scrolling.
DESKTOP, PHONE = 1400, 390
WIDTHS = (DESKTOP, PHONE)
HEIGHT = 1000
CHROMIUM = os.environ.get("NEVOLAB_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
if CHROMIUM is None:
    pytest.skip("chromium not found: apt-get install chromium", allow_module_level=True)

from websockets.sync.client import connect  # noqa: E402  (only needed once Chromium exists)

# Runs in each page once it has loaded: opens every <details> (so collapsed tables are measured
# too), waits for every image, then measures.
#
# Tables. A table is too wide when it is wider than any element between it and the article (the
# article included): that element then either scrolls sideways (myst-nb's output areas are
# `overflow-x: auto`, so a wide claims table hides its last column, the verdict, behind a scroll
# bar) or lets the table spill into the right-hand margin. A table whose cells wrap to fit passes.
# Elements with no width of their own (inline, `display: contents`) are not containers and are
# passed over. `scroller` is the nearest element between the table and the article that scrolls
# sideways (`overflow-x: auto | scroll`) and is no wider than the article: a table that cannot fit
# (wrapped at spaces only) must stay inside one, so the page itself never scrolls sideways; on a
# desktop, a claims table's verdict column must still be in view before any scrolling.
#
# Breaks. Each cell's text is split into words at white space (a <br> or a block element counts as
# white space); a Range over a word whose rendered boxes lie on more than one line is a word or
# number broken inside itself ("0.003|2").
#
# Figures. Every image's natural and displayed width, for the legibility of figure text.
MEASURE = """(async () => {
  for (const details of document.querySelectorAll('details')) details.open = true;
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].slice(0, 3).map(c => '.' + c).join('');
  const article = document.querySelector('article.bd-article') || document.body;
  const lines = range => {  // how many lines the rendered boxes of a range lie on
    const rects = [...range.getClientRects()].filter(r => r.width > 0.5 && r.height > 0)
      .sort((a, b) => a.top - b.top);
    let count = 0, bottom = -Infinity;
    for (const r of rects) {
      if (r.top >= bottom - 1) count += 1;  // starts below every box so far: a new line
      bottom = Math.max(bottom, r.bottom);
    }
    return count;
  };
  const brokenWords = cell => {
    const pieces = [];  // [text node, offset of its text in `text`]
    let text = '';
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) { pieces.push([node, text.length]); text += node.data; }
      else if (node.tagName === 'BR' || !/^(inline|contents|none)/.test(getComputedStyle(node).display))
        text += ' ';
    }
    const at = offset => {
      let found = pieces[0];
      for (const piece of pieces) if (piece[1] <= offset) found = piece;
      return [found[0], Math.min(offset - found[1], found[0].length)];
    };
    const broken = [];
    for (const match of text.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(...at(match.index));
      range.setEnd(...at(match.index + match[0].length));
      if (lines(range) > 1) broken.push(match[0]);
    }
    return broken;
  };
  const tables = [...article.querySelectorAll('table')].map(table => {
    let narrowest = null, scroller = null;
    for (let el = table.parentElement; el; el = el.parentElement) {
      if (el.clientWidth > 0 && (!narrowest || el.clientWidth < narrowest.clientWidth)) narrowest = el;
      if (!scroller && /auto|scroll/.test(getComputedStyle(el).overflowX) &&
          el.clientWidth <= article.clientWidth + 1) scroller = el;
      if (el === article) break;
    }
    const head = table.tHead ? [...table.tHead.querySelectorAll('th')] : [...(table.rows[0]?.cells ?? [])];
    const header = head.map(th => th.textContent.trim()).filter(Boolean).join(' | ');
    const broken = [];
    for (const cell of table.querySelectorAll('td, th'))
      if (cell.getClientRects().length) broken.push(...brokenWords(cell));
    const verdict = head.find(th => th.textContent.trim() === 'verdict');
    const view = (scroller || narrowest || article).getBoundingClientRect();
    return {table: name(table), header: header.slice(0, 120),
            width: Math.ceil(Math.max(table.scrollWidth, table.getBoundingClientRect().width)),
            container: narrowest ? name(narrowest) : 'none',
            container_width: narrowest ? narrowest.clientWidth : 0,
            scroller: scroller ? name(scroller) : null, broken: broken,
            verdict_in_view: !verdict || verdict.getBoundingClientRect().right <= view.right + 1};
  });
  const viewport = document.documentElement.clientWidth;
  const overflowing = [...document.body.querySelectorAll('*')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > viewport + 1 && el.parentElement &&
      el.parentElement.getBoundingClientRect().right <= viewport + 1;
  }).slice(0, 5).map(name);
  return {
    images: [...document.images].map(img => ({src: img.src, width: img.naturalWidth,
      shown: img.getBoundingClientRect().width, output: !!img.closest('.cell_output')})),
    links: [...document.querySelectorAll('a[href]')].map(a => ({raw: a.getAttribute('href'), url: a.href})),
    ids: [...document.querySelectorAll('[id], a[name]')].map(el => el.id || el.getAttribute('name')),
    tables: tables,
    page: {viewport: viewport, width: document.documentElement.scrollWidth, overflowing: overflowing},
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
    """Headless Chromium with one page, 1400 px wide (``set_width`` changes it); remote URLs are
    blocked (the checks are offline)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = profile.with_name(profile.name + ".log")  # a file, not a pipe nobody drains while it runs
    with log.open("w") as stderr:
        process = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                                    "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                    f"--window-size={DESKTOP},{HEIGHT}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        port = _devtools_port(profile, process, log)
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost only
        with no_proxy.open(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            devtools.call(f"{domain}.enable")
        set_width(devtools, DESKTOP)
        devtools.call("Network.setBlockedURLs", urls=["http://*", "https://*"])
        yield devtools
        devtools.socket.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def set_width(devtools: DevTools, width: int) -> None:
    """Lay pages out in a window ``width`` CSS px wide; under 600 px as a phone does (the page's
    viewport meta tag applies, scroll bars overlay the content)."""
    devtools.call("Emulation.setDeviceMetricsOverride", width=width, height=HEIGHT, deviceScaleFactor=1,
                  mobile=width < 600)


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


#: The book's own scripts in `_static/` (the rest of `_static/` is the theme's and extensions').
OWN_SCRIPTS = tuple(sorted(path.name for path in (ROOT / "_static").glob("*.js")))


def ours(kind: str, url: str, text: str, site: str) -> bool:
    """Whether a console error is the book's own: raised in the site's pages or its own scripts
    (OWN_SCRIPTS), or failing to load one of its files. Errors raised inside the theme's and
    extensions' scripts (the rest of `_static/`) and VENDOR_ERRORS are not; remote URLs are blocked,
    so their failed loads are not either. An error that names no source is counted, to be safe."""
    if any(known in text for known in VENDOR_ERRORS):
        return False
    if kind == "script" and url.startswith(site + "_static/") and \
            url.split("?")[0][len(site + "_static/"):] not in OWN_SCRIPTS:
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


CHECKS = ("images", "links", "tables", "breaks", "figures", "page", "console")


def site_problems(html: Path, reports: dict[str, dict], width: int = DESKTOP) -> dict[str, list[str]]:
    """The problems of each check over the pages opened in a window ``width`` px wide, keyed by
    check (:data:`CHECKS`); each problem names its page. ``reports`` maps a page (relative to
    ``html``) to what ``open_page`` returned for it.

    - images: a local image that did not load; links: an internal link that leads nowhere;
    - tables: a table wider than its column that does not scroll inside it (on a desktop, also one
      that hides its verdict column behind the scroll bar);
    - breaks: a word or number of a table cell broken across lines;
    - figures: a figure's smallest text (recorded in its PNG by ``plotting.finish``) under
      ``plotting.MIN_FONT_PX`` on a desktop or ``plotting.MIN_PHONE_FONT_PX`` on a phone, as
      displayed: points × the PNG's dpi / 72 × displayed width / natural width;
    - page: a page wider than the window (it scrolls sideways);
    - console: errors of the site's own pages and files."""
    site = html.resolve().as_uri() + "/"
    ids = {page: set(report["ids"]) for page, report in reports.items()}
    problems: dict[str, list[str]] = {check: [] for check in CHECKS}
    for page, report in reports.items():
        if report.get("error"):
            problems["links"].append(f"{page}: could not be opened ({report['error']})")
        for image in report["images"]:
            if image["width"] == 0 and image["src"].startswith(site):  # remote images are not loaded
                problems["images"].append(f"{page}: <img src={image['src'][len(site):]}> did not load")
            elif image.get("output") and image["src"].startswith(site):
                problems["figures"] += [f"{page}: {why}" for why in [_figure_problem(image, width)] if why]
        for link in report["links"]:  # remote links are linkcheck's job (publish workflow)
            why = _broken(html, site, link["url"], ids) if link["url"].startswith("file:") else ""
            if why:
                problems["links"].append(f"{page}: href={link['raw']!r} {why}")
        for table in report["tables"]:
            where = f"{page}: {table['table']} [{table['header']}]"
            if table["width"] > table["container_width"] + 1 and not table["scroller"]:
                problems["tables"].append(
                    f"{where} is {table['width']} px wide, its container {table['container']} "
                    f"{table['container_width']} px, and nothing scrolls it inside the column")
            elif width >= DESKTOP and not table["verdict_in_view"]:
                problems["tables"].append(f"{where} hides its verdict column behind a scroll bar "
                                          f"({table['width']} px in {table['container_width']} px)")
            if table["broken"]:
                words = ", ".join(repr(word) for word in table["broken"][:8])
                problems["breaks"].append(f"{where} breaks {len(table['broken'])} word(s) inside: {words}")
        shape = report.get("page")
        if shape and shape["width"] > shape["viewport"] + 1:
            problems["page"].append(f"{page}: {shape['width']} px wide in a {shape['viewport']} px window "
                                    f"(sticking out: {', '.join(shape['overflowing']) or '?'})")
        problems["console"] += [f"{page}: {kind} error from {url[len(site):] or '(no url)'}: {text}"
                                for kind, url, text in report["console"] if ours(kind, url, text, site)]
    return problems


def _figure_problem(image: dict, width: int) -> str:
    """Why a notebook's figure is illegible as displayed in a window ``width`` px wide, or ''."""
    from PIL import Image

    path = Path(unquote(urlsplit(image["src"]).path))
    with Image.open(path) as png:
        recorded, dpi = getattr(png, "text", {}).get(plotting.FONT_KEY), png.info.get("dpi", (0, 0))[0]
    if recorded is None or not dpi:
        return f"{path.name} does not record its smallest font (not drawn through plotting.finish)"
    shown = float(recorded) * dpi / 72 * image["shown"] / image["width"]
    minimum = plotting.MIN_FONT_PX if width >= DESKTOP else plotting.MIN_PHONE_FONT_PX
    if shown < minimum - 0.01:
        return (f"{path.name}: its smallest text ({float(recorded):.1f} pt at {dpi:.0f} dpi) shows at "
                f"{shown:.1f} px, under {minimum:g} px ({image['width']} px wide, shown at "
                f"{image['shown']:.0f} px)")
    return ""


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
def book_reports(browser, book_html) -> dict[int, dict[str, dict]]:
    """What every page showed, per window width (:data:`WIDTHS`)."""
    html, pages = book_html
    reports = {}
    for width in WIDTHS:
        set_width(browser, width)
        reports[width] = open_site(browser, html, pages)
    set_width(browser, DESKTOP)
    return reports


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("check", CHECKS)
def test_book_pages_in_chromium(book_html, book_reports, check, width):
    problems = site_problems(book_html[0], book_reports[width], width)[check]
    assert not problems, f"{len(problems)} problem(s) at {width} px:\n" + "\n".join(problems)


def test_book_pages_were_measured(book_html, book_reports):
    """The checks above saw the content at each width: every page's links and images, the claims
    tables, the figures (with their recorded fonts), and the table cells' words."""
    for width, reports in book_reports.items():
        for page, report in reports.items():
            assert report["links"], page
            assert len(report["images"]) == (book_html[0] / page).read_text().count("<img"), page
            assert width - 20 <= report["page"]["viewport"] <= width, page  # less a scroll bar
        assert sum(1 for report in reports.values() for image in report["images"] if image["output"]) > 0
        for claims in ("book/a3_claims.html", "book/b4_claims.html", "book/c3_claims.html"):
            assert reports[claims]["tables"], claims
    phone = [image["shown"] for report in book_reports[PHONE].values() for image in report["images"]
             if image["output"]]
    assert max(phone) <= PHONE  # the figures were scaled to the phone's column


def test_toc_pages_lists_every_entry():
    toc = {"root": "intro", "parts": [{"caption": "A", "chapters": [
        {"file": "a", "sections": [{"file": "a1"}, {"file": "a2", "sections": [{"file": "a2x"}]}]}]}]}
    assert toc_pages(toc) == ["intro.html", "a.html", "a1.html", "a2.html", "a2x.html"]


# A hand-made site with one fault of each kind, next to the same things done right.
FAULTY_PAGE = """<!doctype html><html><head>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><article class="bd-article" style="max-width: 600px">
<h1 id="top">Faulty</h1>
<img src="missing.png"><img src="ok.svg">
<a href="nowhere.html">a missing page</a> <a href="other.html#gone">a missing anchor</a>
<a href="../outside.html">outside</a>
<a href="other.html#here">fine</a> <a href="#top">fine</a> <a href="https://example.org/">remote</a>
<div style="overflow-x: auto"><table id="wide"><tr><th>claim</th><th>verdict</th></tr>
<tr><td style="white-space: nowrap">{long}</td><td>holds</td></tr></table></div>
<div style="overflow-x: auto"><table id="scrolls"><tr><th>verdict</th><th>claim</th></tr>
<tr><td>holds</td><td style="white-space: nowrap">{long}</td></tr></table></div>
<table id="spill"><tr><th>claim</th></tr><tr><td style="white-space: nowrap">{long}</td></tr></table>
<table id="narrow"><tr><th>claim</th><th>verdict</th></tr><tr><td>{long}</td><td>holds</td></tr></table>
<table id="squeezed"><tr><td style="word-break: break-all; width: 3em; max-width: 3em">0.003217</td>
<td style="width: 3em">words wrap here</td></tr></table>
<div class="cell_output"><img src="tiny.png" style="width: 100%"><img src="fine.png" style="width: 100%">
<img src="bare.png" style="width: 100%"></div>
<script>console.error("our own script failed");</script>
</article></body></html>"""


def _png(path: Path, smallest_pt: float | None) -> None:
    """A 660 px wide PNG at plotting.DPI that records ``smallest_pt`` as plotting.finish does."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if smallest_pt is not None:
        info.add_text(plotting.FONT_KEY, f"{smallest_pt:.3f}")
    Image.new("RGB", (660, 60), "white").save(path, pnginfo=info, dpi=(plotting.DPI, plotting.DPI))


@pytest.mark.parametrize("width", WIDTHS)
def test_checks_report_each_fault_on_a_faulty_site(browser, tmp_path, width):
    (tmp_path / "faulty.html").write_text(FAULTY_PAGE.replace("{long}", "a long claim " * 30))
    (tmp_path / "other.html").write_text('<!doctype html><p id="here">target</p>')
    (tmp_path / "ok.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    _png(tmp_path / "tiny.png", 5.0)  # 5 pt: 6.9 px at 600 px wide, 3.9 px on a phone
    _png(tmp_path / "fine.png", 12.0)  # 16.7 px, and 10.4 px on a phone
    _png(tmp_path / "bare.png", None)  # not drawn through plotting.finish
    set_width(browser, width)
    try:
        reports = open_site(browser, tmp_path, ["faulty.html", "other.html"])
    finally:
        set_width(browser, DESKTOP)
    problems = site_problems(tmp_path, reports, width)
    assert problems["images"] == ["faulty.html: <img src=missing.png> did not load"]
    assert sorted(problems["links"]) == [
        "faulty.html: href='../outside.html' points outside the built site",
        "faulty.html: href='nowhere.html' points to a missing file",
        "faulty.html: href='other.html#gone' points to a missing anchor #gone"]
    tables = problems["tables"]
    assert [line for line in tables if "table#spill" in line and "nothing scrolls it" in line]
    # on a desktop the verdict column must be in view; on a phone scrolling to it is fine
    hidden = [line for line in tables if "table#wide" in line and "verdict column" in line]
    assert bool(hidden) == (width == DESKTOP)
    assert len(tables) == 1 + (width == DESKTOP), tables  # table#scrolls and table#narrow pass
    assert len(problems["breaks"]) == 1 and "table#squeezed" in problems["breaks"][0]
    assert "'0.003217'" in problems["breaks"][0] and "'wrap'" not in problems["breaks"][0]
    figures = problems["figures"]
    assert len(figures) == 2, figures
    assert [line for line in figures if "tiny.png" in line and "5.0 pt" in line]
    assert [line for line in figures if "bare.png does not record its smallest font" in line]
    assert len(problems["page"]) == 1 and problems["page"][0].startswith("faulty.html: ")
    assert any("our own script failed" in line for line in problems["console"])
    assert any("missing.png" in line for line in problems["console"])  # the failed load, too


def test_vendor_script_errors_are_not_ours_but_failed_loads_are():
    site = "file:///book/_build/html/"
    assert ours("script", site + "book/a3_claims.html", "TypeError: x is undefined", site)
    assert ours("network", site + "_static/styles/theme.css", "Failed to load resource", site)
    assert ours("script", "", "an error with no source", site)
    assert not ours("script", site + "_static/scripts/pydata-sphinx-theme.js", "invalid theme mode", site)
    assert ours("script", site + "_static/nevolab.js", "TypeError: y is undefined", site)  # the book's own
    assert not ours("script", site + "book/intro.html", f"SyntaxError: {VENDOR_ERRORS[0]}", site)
    assert not ours("network", "https://unpkg.com/thebe@0.8.2/lib/index.js", "blocked", site)
