#!/usr/bin/python3
"""tests/web/test_web.py - the editor's web page of copydesk serve, driven in a
real headless browser (Debian's chromium, chromium-driver, python3-selenium).

    /usr/bin/python3 tests/web/test_web.py        (COPYDESK: the binary, default
                                                   build/debug/copydesk)

It starts `copydesk serve` on a free loopback port with a scratch copy of the
shipped desk (scripts/, models/, tests/samples/), without --web (so that it
finds the page beside the program, as a build tree and an install do), and:

  - checks the serving itself: content types, the Content-Security-Policy and
    nosniff headers, path traversal refused, a wrong --web refused at start;
  - pastes the North Korea treaty story and sees defense-desk, the deciding
    rule at its file:line, the topics and the keyword hits;
  - changes the trade rule's threshold in the desk editor (typed, as an
    editor would), checks it, previews it (the moves on the archive, a cell
    opened), applies it, and the next trade story follows the new rule (on
    the page and in a real route request);
  - saves a broken desk and sees the Lua error at its line, while the old desk
    keeps routing (a real route request), then rolls back from the history;
  - corrects a story's labels and sees the new decision;
  - tries and routes a story titled <img src=x onerror=alert(1)>: no alert,
    no image, the text shown as text (in Try and in the live list);
  - the live view, keyboard use of the tabs, labelled controls, and the page
    at 1280 px and at a phone's width (no sideways scrolling).

Screenshots of each step are written to COPYDESK_WEB_OUT (default
build/test-web/ in the repository); the path is printed.  One "ok - NAME" or
"not ok - NAME" line per check.  Exits 77, saying why, when chromium,
chromedriver or selenium is absent; 1 when a check failed.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COPYDESK = os.environ.get("COPYDESK", os.path.join(ROOT, "build", "debug", "copydesk"))
OUT = os.environ.get("COPYDESK_WEB_OUT", os.path.join(ROOT, "build", "test-web"))
XSS = "<img src=x onerror=alert(1)>"

failures = 0


def ok(name):
    print(f"ok - {name}", flush=True)


def not_ok(name, *why):
    global failures
    failures += 1
    print(f"not ok - {name}", flush=True)
    for w in why:
        for line in str(w).splitlines()[:12]:
            print(f"#   {line}", flush=True)


def check(name, cond, *why):
    if cond:
        ok(name)
    else:
        not_ok(name, *why)
    return bool(cond)


def skip(why):
    print(f"# skip: the web page test needs {why}")
    sys.exit(77)


# ---- what the test needs ------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
if not CHROMIUM:
    skip("chromium (Debian package chromium; tools/install-deps --test)")
if not DRIVER:
    skip("chromedriver (Debian package chromium-driver; tools/install-deps --test)")
try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium (run with /usr/bin/python3, Debian's; tools/install-deps --test)")
if not os.access(COPYDESK, os.X_OK):
    print(f"not ok - the program {COPYDESK} is not built (tools/build debug)")
    sys.exit(1)

os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    if f.endswith(".png"):
        os.unlink(os.path.join(OUT, f))
print(f"# screenshots in {OUT}", flush=True)

# ---- the service ----------------------------------------------------------------------

scratch = tempfile.mkdtemp(prefix="copydesk-web.")
for d in ("scripts", "models"):
    shutil.copytree(os.path.join(ROOT, d), os.path.join(scratch, d))
shutil.copytree(os.path.join(ROOT, "tests", "samples"), os.path.join(scratch, "tests", "samples"))
STATE = os.path.join(scratch, "state")
LOG = os.path.join(scratch, "serve.log")
proc = None


def start_serve(*extra):
    log = open(LOG, "a")
    p = subprocess.Popen([COPYDESK, "serve", "-c", "scripts/newsroom.lua", "--listen", "127.0.0.1:0",
                          "-s", STATE, "--threads", "2", *extra],
                         cwd=scratch, stdout=log, stderr=log)
    log.close()
    return p


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def serve_log():
    try:
        return open(LOG).read()
    except OSError:
        return ""


driver = None


def finish(code):
    if driver:
        try:
            driver.quit()
        except Exception:
            pass
    stop(proc)
    if code and "ERROR: AddressSanitizer" in serve_log():
        print("# the service's log ends:\n# " + "\n# ".join(serve_log().splitlines()[-30:]))
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(code)


# A --web folder without the page stops serve at once, saying why.
bad = subprocess.run([COPYDESK, "serve", "-c", "scripts/newsroom.lua", "--listen", "127.0.0.1:0",
                      "-s", os.path.join(scratch, "s0"), "--web", os.path.join(scratch, "nowhere")],
                     cwd=scratch, capture_output=True, text=True, timeout=120)
check("serve --web with a folder that does not exist stops with status 2", bad.returncode == 2,
      f"status {bad.returncode}", bad.stderr)
check("saying which folder and where the page's files are", "--web" in bad.stderr and "nowhere" in bad.stderr
      and "share/copydesk/web" in bad.stderr, bad.stderr)
os.makedirs(os.path.join(scratch, "empty"))
bad = subprocess.run([COPYDESK, "serve", "-c", "scripts/newsroom.lua", "--listen", "127.0.0.1:0",
                      "-s", os.path.join(scratch, "s0"), "--web", os.path.join(scratch, "empty")],
                     cwd=scratch, capture_output=True, text=True, timeout=120)
check("serve --web with a folder without index.html stops, saying so",
      bad.returncode == 2 and "no index.html" in bad.stderr, bad.stderr)

proc = start_serve()
deadline = time.time() + 120
port = None
while time.time() < deadline and proc.poll() is None:
    m = re.search(r" listen address=127\.0\.0\.1:(\d+) ", serve_log())
    if m and " web page=" in serve_log():
        port = int(m.group(1))
        break
    time.sleep(0.2)
if not port:
    not_ok("copydesk serve starts", serve_log())
    finish(1)
URL = f"http://127.0.0.1:{port}"
TOKEN = open(os.path.join(STATE, "token")).read().strip()
check("serve says where the page is and which files it serves",
      re.search(rf" web page=http://127\.0\.0\.1:{port}/ files=\S*/web\b", serve_log()), serve_log())


def raw(method, path, body=None, headers=None):
    """One request with the path sent exactly as given (no normalization)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    if body is not None:
        c.send(body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def api(method, path, story=None, auth=False, body=None, ctype="application/json"):
    h = {"Content-Type": ctype}
    if auth:
        h["Authorization"] = "Bearer " + TOKEN
    if story is not None:
        body = json.dumps(story).encode()
    st, hd, data = raw(method, path, body, h)
    try:
        return st, json.loads(data)
    except ValueError:
        return st, data.decode("utf-8", "replace")


# ---- serving the page: types, headers, traversal ---------------------------------------

st, hd, data = raw("GET", "/")
csp = hd.get("content-security-policy", "")
check("GET / is the page (200, text/html)", st == 200 and hd.get("content-type", "").startswith("text/html")
      and b"<title>copydesk</title>" in data, st, hd)
check("the page has a strict Content-Security-Policy (self only, no inline script)",
      "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
      and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp)
check("the page is sent with X-Content-Type-Options: nosniff", hd.get("x-content-type-options") == "nosniff", hd)
check("the page has no inline script or style", not re.search(rb"<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", data))
for path, ctype in (("/web/app.js", "text/javascript"), ("/web/app.css", "text/css"),
                    ("/web/favicon.svg", "image/svg+xml")):
    st, hd, _ = raw("GET", path)
    check(f"GET {path}: 200, {ctype}, nosniff", st == 200 and hd.get("content-type", "").startswith(ctype)
          and hd.get("x-content-type-options") == "nosniff", st, hd)
for path in ("/web/../scripts/newsroom.lua", "/web/..%2fscripts%2fnewsroom.lua", "/web/%2e%2e/%2e%2e/etc/passwd",
             "/web//etc/passwd", "/web/.hidden", "/web/", "/web/../../../../etc/passwd", "/../etc/passwd",
             "/web/app.js/../../token", "/web/..\\token"):
    st, hd, data = raw("GET", path)
    check(f"path traversal refused: GET {path} is 404 and no file's content",
          st == 404 and b"root:" not in data and b"model(" not in data
          and TOKEN.encode() not in data, st, data[:200])
st, hd, _ = raw("POST", "/web/app.js", b"x", {"Content-Type": "text/plain"})
check("POST to a file of the page is 405 with Allow", st == 405 and "GET" in hd.get("allow", ""), st, hd)
st, hd, _ = raw("GET", "/v1/desk")
check("the API keeps working beside the page (GET /v1/desk)", st == 200, st)

# ---- the browser ----------------------------------------------------------------------------

opts = Options()
opts.binary_location = CHROMIUM
for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
          "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-GB",
          f"--user-data-dir={os.path.join(scratch, 'chromium')}"):
    opts.add_argument(a)
if os.geteuid() == 0:
    opts.add_argument("--no-sandbox")   # chromium's sandbox refuses root
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
try:
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
except Exception as e:  # a browser that cannot start is a failure, not a skip
    not_ok("headless chromium starts", e)
    finish(1)
driver.set_window_size(1280, 900)
wait = WebDriverWait(driver, 60, poll_frequency=0.2)
shot_n = [0]


def shot(name, at=None):
    """A screenshot of the window, scrolled to the element of id at first."""
    if at:
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", by(at))
    shot_n[0] += 1
    path = os.path.join(OUT, f"{shot_n[0]:02d}-{name}.png")
    driver.save_screenshot(path)
    return path


def by(id_):
    return driver.find_element(By.ID, id_)


def until(name, f, timeout=60):
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: f())
        return True
    except TimeoutException:
        shot("FAILED-" + re.sub(r"\W+", "-", name)[:40])
        not_ok(name, "timed out; the page says: " + driver.find_element(By.TAG_NAME, "main").text[:900])
        return False


def no_alert():
    try:
        a = driver.switch_to.alert
        text = a.text
        a.dismiss()
        return False, text
    except NoAlertPresentException:
        return True, ""


def text_of(id_):
    return by(id_).text


def type_into(id_, value):
    e = by(id_)
    e.clear()
    # long texts go in through the clipboard-free path: a few big chunks of keys
    for i in range(0, len(value), 2000):
        e.send_keys(value[i:i + 2000])


def try_story(story):
    type_into("try-id", story["id"])
    type_into("try-title", story["title"])
    type_into("try-body", story.get("body", ""))
    by("try-run").click()


def tab(name):
    by("tab-" + name).click()


def page_errors():
    """Errors in the browser console (a CSP violation is one)."""
    try:
        return [l["message"] for l in driver.get_log("browser") if l["level"] == "SEVERE"]
    except Exception:
        return []


samples = os.path.join(ROOT, "tests", "samples")
NK = json.load(open(os.path.join(samples, "nk-russia-defense-treaty.json")))
TRADE = {s["id"]: s for s in map(json.loads, open(os.path.join(ROOT, "tests", "web", "trade-stories.jsonl")))}
NEXT_TRADE = TRADE.pop("reuters-16158")   # routed only after the change

driver.get(URL + "/")
until("the page shows the running desk", lambda: "version 1" in text_of("desk-line"))
check("the page loads without errors in the console", not page_errors(), page_errors())

# the token, once, for the tab's session only
by("token-input").send_keys(TOKEN)
by("token-save").click()
until("the token is taken", lambda: "token set" in text_of("token-state"))
kept = driver.execute_script("return [sessionStorage.getItem('copydesk-token'), localStorage.length,"
                             " document.cookie]")
check("the token is kept in sessionStorage only (no localStorage, no cookie)",
      kept[0] == TOKEN and kept[1] == 0 and kept[2] == "", kept)
check("the token field is emptied once taken", by("token-input").get_attribute("value") == "")

# ---- 1. try a story: the North Korea treaty story goes to defense-desk ----------------------
try_story(NK)
if until("the North Korea treaty story: defense-desk", lambda: text_of("try-route") == "defense-desk"):
    ok("the North Korea treaty story: defense-desk")
    rule = text_of("try-rule")
    check("the deciding rule with its file:line", "defense stories go to the defense desk" in rule
          and re.search(r"scripts/newsroom\.lua:\d+", rule), rule)
    rows = driver.find_elements(By.CSS_SELECTOR, "#try-topics tbody tr")
    meters = driver.find_elements(By.CSS_SELECTOR, "#try-topics tbody meter")
    check("the topics as bars with their scores", len(rows) >= 3 and len(meters) == len(rows)
          and "defense" in rows[0].text + rows[1].text, [r.text for r in rows[:3]])
    marks = [m.text.lower() for m in driver.find_elements(By.CSS_SELECTOR, "#try-text mark")]
    check("keyword hits marked in the text", "treaty" in marks and any("military" in m for m in marks), marks[:10])
    check("each model's labels", "sections" in text_of("try-labels") and "topics" in text_of("try-labels"),
          text_of("try-labels"))
    rules = text_of("try-rules")
    check("every rule's result, with those that returned nothing", "nothing" in rules and "decided" in rules
          and "not run" in rules, rules)
    check("the given factors of the evidence", "given sections:business" in text_of("try-topics"),
          text_of("try-topics")[:400])
    shot("try-defense-desk")

# ---- the archive: stories routed for real, to preview a change on ---------------------------
routed = 0
for name in ("reuters-14826.json", "reuters-14828.json", "bbc-sport-005.json", "bbc-tech-010.json",
             "nk-russia-defense-treaty.json"):
    st, _ = api("POST", "/v1/route", json.load(open(os.path.join(samples, name))), auth=True)
    routed += st == 202
for s in TRADE.values():
    st, _ = api("POST", "/v1/route", s, auth=True)
    routed += st == 202
check("stories routed over HTTP with the token (202)", routed == 5 + len(TRADE), routed)
st, before = api("POST", "/v1/route?dry_run=1", NEXT_TRADE)
check("before the change, the next trade story goes to business-desk", before.get("route") == ["business-desk"]
      if isinstance(before, dict) else False, before)

# ---- 2. the desk: change the trade threshold, check, preview, apply -----------------------------
tab("desk")
until("the desk's source in the editor", lambda: "trade stories go to the trade desk" in
      by("desk-source").get_attribute("value"))
gutter_lines = len(driver.find_elements(By.CSS_SELECTOR, "#desk-gutter span"))
check("line numbers beside the source", gutter_lines == by("desk-source").get_attribute("value").count("\n") + 1,
      gutter_lines)
check("Apply is disabled before a check", not by("desk-apply").is_enabled())
src = by("desk-source").get_attribute("value")
needle = 'story:topic("trade") >= 0.5'
at = src.find(needle)
check("the shipped desk has the trade rule's threshold", at >= 0, needle)
# select the 0.5 as a mouse would, and type over it
driver.execute_script("const t = arguments[0]; t.focus(); t.setSelectionRange(arguments[1], arguments[2]);",
                      by("desk-source"), at + len(needle) - 3, at + len(needle))
by("desk-source").send_keys("0.3")
check("the editor holds the new threshold", 'story:topic("trade") >= 0.3' in by("desk-source").get_attribute("value"))
by("desk-check").click()
if until("the change passes its check and expect cases", lambda: "check passed" in text_of("desk-state")):
    ok("the change passes its check and expect cases")
    check("Apply is possible once the check passed", by("desk-apply").is_enabled())
    check("the expect cases are listed, passed",
          len(driver.find_elements(By.CSS_SELECTOR, "#desk-expects tr.pass")) >= 6)
by("desk-preview").click()
if until("the preview's moves", lambda: driver.find_elements(By.CSS_SELECTOR, "#desk-moves tbody tr")):
    rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#desk-moves tbody tr")]
    check("the preview moves stories to trade-desk (from -> to, count)",
          any("trade-desk" in r and ("business-desk" in r or "review" in r) for r in rows), rows)
    check("the preview counts the stories", re.search(r"\d+ stories of the archive; [1-9]\d* would move",
                                                      text_of("desk-preview-summary")), text_of("desk-preview-summary"))
    cell = driver.find_element(By.CSS_SELECTOR, "#desk-moves tbody tr td.num button")
    cell.send_keys(Keys.ENTER)   # a cell opens its stories, from the keyboard too
    if until("a cell opens its moved stories", lambda: driver.find_elements(By.CSS_SELECTOR, ".moved-story")):
        moved = text_of("desk-moved")
        check("the moved stories with the evidence on both sides", "before:" in moved and "after: trade-desk" in moved
              and "reuters-" in moved, moved[:600])
    shot("desk-preview", at="desk-preview-out")
by("desk-apply").click()
if until("the change is applied", lambda: "applied" in text_of("desk-state")):
    ok("the change is applied: " + text_of("desk-state"))
    until("the page shows version 2", lambda: "version 2" in text_of("desk-line"))
    st, after = api("POST", "/v1/route?dry_run=1", NEXT_TRADE)
    check("the next trade story follows the new rule (a real route request): trade-desk",
          isinstance(after, dict) and after.get("route") == ["trade-desk"], after)
    shot("desk-applied")
    tab("try")
    try_story(NEXT_TRADE)
    until("on the page too, the next trade story goes to trade-desk",
          lambda: text_of("try-route") == "trade-desk") and ok("on the page too, the next trade story goes to trade-desk")
    shot("try-next-trade-story", at="try-result")
    # a recent story of the archive, picked from the list, is read whole and decided
    until("the recent stories are listed", lambda: any("North Korea" in o.text for o in
          driver.find_elements(By.CSS_SELECTOR, "#try-recent option")))
    pick = next(o for o in driver.find_elements(By.CSS_SELECTOR, "#try-recent option") if "North Korea" in o.text)
    Select(by("try-recent")).select_by_value(pick.get_attribute("value"))
    if until("a recent story picked from the list is decided: defense-desk",
             lambda: text_of("try-route") == "defense-desk" and by("try-title").get_attribute("value") == NK["title"]):
        check("the picked story is read whole from the archive (its body)",
              by("try-body").get_attribute("value").strip() == NK["body"].strip())

# ---- 3. a broken desk: the Lua error at its line, the old desk keeps routing ------------------
tab("desk")
until("the editor has the applied text", lambda: ">= 0.3" in by("desk-source").get_attribute("value"))
src = by("desk-source").get_attribute("value")
lines = src.split("\n")
# delete the closing parenthesis of the trade rule ("end)" after its return)
trade_line = next(i for i, l in enumerate(lines) if "trade stories go to the trade desk" in l and "rule(" in l)
close = next(i for i in range(trade_line, len(lines)) if lines[i].startswith("end)"))
start = sum(len(l) + 1 for l in lines[:close]) + 3
driver.execute_script("const t = arguments[0]; t.focus(); t.setSelectionRange(arguments[1], arguments[2]);",
                      by("desk-source"), start, start + 1)
by("desk-source").send_keys(Keys.DELETE)
by("desk-check").click()
if until("the broken desk is refused, with the Lua error", lambda: driver.find_elements(By.CSS_SELECTOR, "#desk-problems li.error")):
    problem = driver.find_element(By.CSS_SELECTOR, "#desk-problems li.error").text
    m = re.search(r"scripts/newsroom\.lua:(\d+):", problem)
    check("the Lua error names the desk file and its line", m, problem)
    bad_marks = [e.get_attribute("textContent").strip() for e in driver.find_elements(By.CSS_SELECTOR, "#desk-gutter span.bad")]
    check("the error's line is marked beside the source", m and bad_marks == [m.group(1)], bad_marks, problem)
    check("the error's line is a button that selects it", m and f"line {m.group(1)}" in problem, problem)
    check("Apply stays disabled", not by("desk-apply").is_enabled())
    shot("desk-broken")
st, d = api("GET", "/v1/desk")
check("the running desk is still version 2", st == 200 and d.get("version") == 2, d if st != 200 else d.get("version"))
st, dec = api("POST", "/v1/route", NK, auth=True)
check("the old desk keeps routing (a real route request): 202, defense-desk",
      st == 202 and dec.get("route") == ["defense-desk"], st, dec)
st, dec = api("POST", "/v1/route?dry_run=1", NEXT_TRADE)
check("and keeps the applied trade rule", dec.get("route") == ["trade-desk"], dec)
until("the history lists the applied versions", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#desk-history tbody tr")) >= 2)
check("the running version is marked in the history",
      "running" in driver.find_element(By.CSS_SELECTOR, "#desk-history tr.current").text)
by("desk-rollback").click()
if until("rollback returns to version 1", lambda: "to 1" in text_of("desk-history-state")):
    ok("rollback returns to version 1")
    until("the editor shows version 1's text again",
          lambda: 'story:topic("trade") >= 0.5' in by("desk-source").get_attribute("value"))
    st, dec = api("POST", "/v1/route?dry_run=1", NEXT_TRADE)
    check("after the rollback the trade story goes to business-desk again", dec.get("route") == ["business-desk"], dec)
    shot("desk-rolled-back")

# ---- 4. correct a story's labels -----------------------------------------------------------------
tab("try")
SPORTY = {"id": "web-correction-1",
          "title": "Club chairman says the stadium deal will lift profits",
          "body": "The football club's chairman told shareholders the new stadium sponsorship deal "
                  "would lift revenue and profits next season, and the club's shares rose."}
try_story(SPORTY)
until("the story to correct is decided", lambda: text_of("try-route") != "")
labels_before = text_of("try-labels")
by("try-correct").click()
until("the correction form opens", lambda: by("correct").is_displayed())
boxes = driver.find_elements(By.CSS_SELECTOR, "#correct-models fieldset[data-model=sections] input[type=checkbox]")
for b in boxes:
    want = b.get_attribute("value") == "sport"
    if b.is_selected() != want:
        b.click()
if not any(b.get_attribute("value") == "sport" for b in boxes):
    driver.find_element(By.CSS_SELECTOR, "#correct-models fieldset[data-model=sections] input.other").send_keys("sport")
by("correct-send").click()
if until("the correction reaches the model and the new decision is shown",
         lambda: by("correct-after").is_displayed(), timeout=180):
    status = text_of("correct-status")
    check("the model has the correction", "the model has the correction" in status, status)
    line = next((e.text for e in driver.find_elements(By.CSS_SELECTOR, "#correct-labels li.corrected")), "")
    m = re.match(r"sections: (.*) \(was (.*); corrected to sport\)$", line)
    check("the new decision of the corrected model, beside the one before", m, line)
    check("the corrected model decides differently now", m and m.group(1) != m.group(2), line)
    check("the new route is shown", text_of("correct-route") != "", text_of("correct-after"))
shot("correction", at="correct")

# ---- 6. a story titled <img src=x onerror=alert(1)> stays text ---------------------------------------
XSTORY = {"id": "xss-1", "title": XSS, "body": "A body with <script>alert(2)</script> and <b>bold</b> markup."}
try_story(XSTORY)
until("the XSS story is decided", lambda: XSS in text_of("try-text"))
time.sleep(1)
quiet, alert_text = no_alert()
check("no alert from a title <img src=x onerror=alert(1)>", quiet, alert_text)
check("the title shows as text", driver.find_element(By.CSS_SELECTOR, "#try-text .title").text == XSS)
check("no image and no script made of the story",
      not driver.find_elements(By.CSS_SELECTOR, "main img, #try-text script, #try-text b"))
st, _ = api("POST", "/v1/route", XSTORY, auth=True)
check("the XSS story routed for real (202)", st == 202, st)
shot("xss-as-text", at="try-text")

# ---- 3. live -------------------------------------------------------------------------------------------
tab("live")
until("the live counters", lambda: driver.find_elements(By.CSS_SELECTOR, "#live-counters .counter"))
until("the stories routed are counted", lambda: re.search(r"\b(1[0-9]|[2-9]\d)\b\s*stories routed", text_of("live-counters")))
check("stories per destination", "defense-desk" in text_of("live-dests") and "trade-desk" in text_of("live-dests"),
      text_of("live-dests"))
if until("the recent decisions of the archive", lambda: driver.find_elements(By.CSS_SELECTOR, "#live-stories tbody tr"), 30):
    check("the XSS title is text in the live list too", XSS in text_of("live-stories")
          and not driver.find_elements(By.CSS_SELECTOR, "#live-stories img"), text_of("live-stories")[:300])
    Select(by("live-dest")).select_by_value("defense-desk")
    until("filtered by destination", lambda: text_of("live-stories") and all(
        "defense-desk" in r.text for r in driver.find_elements(By.CSS_SELECTOR, "#live-stories tbody tr")))
quiet, alert_text = no_alert()
check("still no alert", quiet, alert_text)
shot("live")
driver.find_element(By.CSS_SELECTOR, "#live-stories tbody tr button").click()
until("a story of the live list opens in Try, decided", lambda: by("tab-try").get_attribute("aria-selected") == "true"
      and text_of("try-route") == "defense-desk" and by("try-body").get_attribute("value") != "")
tab("live")

# ---- 5. keyboard, labels, widths --------------------------------------------------------------------------
by("tab-live").send_keys(Keys.ARROW_LEFT)
check("the tabs move with the arrow keys", by("tab-desk").get_attribute("aria-selected") == "true"
      and driver.switch_to.active_element == by("tab-desk"))
unlabelled = driver.execute_script("""
  return [...document.querySelectorAll('input, select, textarea')].filter(e =>
    e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.outerHTML.slice(0, 80));""")
check("every control has a label", not unlabelled, unlabelled)
errors = [e for e in page_errors() if "Content Security Policy" in e or "Refused" in e]
check("no Content-Security-Policy violation in the console", not errors, errors)

tab("try")
try_story(NK)
until("defense-desk again", lambda: text_of("try-route") == "defense-desk")
driver.set_window_size(1280, 900)
shot("wide-1280-try")
driver.set_window_size(390, 844)
time.sleep(0.5)
overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check("at a phone's width (390 px) nothing scrolls sideways (Try)", overflow <= 1, overflow)
shot("phone-try")
driver.execute_script("window.scrollTo(0, document.getElementById('try-result').offsetTop)")
shot("phone-try-result")
tab("desk")
time.sleep(0.5)
overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check("at a phone's width nothing scrolls sideways (the desk)", overflow <= 1, overflow)
shot("phone-desk")
tab("live")
time.sleep(1)
overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check("at a phone's width nothing scrolls sideways (live)", overflow <= 1, overflow)
shot("phone-live")

still = proc.poll() is None
check("serve is still running", still, serve_log()[-2000:])
stop(proc)
check("serve stops cleanly on SIGTERM", proc.returncode == 0, proc.returncode)
check("no sanitizer report in the service's log", not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                                                                serve_log()), serve_log()[-3000:])
print(f"# screenshots in {OUT}: {', '.join(sorted(f for f in os.listdir(OUT) if f.endswith('.png')))}")
finish(1 if failures else 0)
