#!/usr/bin/python3
"""webui_browser.py - drive the segtls web UI with headless Chromium.

Debian's chromium, chromium-driver and python3-selenium; a new empty
profile each run; loopback only. Prints one JSON object of what it saw.

  webui_browser.py edit BASE USER PASSWORD OUTDIR COMMENT
      log in, open Edit Settings, check GUI HTTPS TLS v1.0 and look at the
      boxes (TLS v1.1 checked and disabled between v1.0 and v1.2, a click
      on it changes nothing), uncheck v1.0 again, check Inbound SMTP TLS
      v1.3, submit, commit with COMMENT; screenshots of the edit form and
      of the page after the commit in OUTDIR; the first rollback row
  webui_browser.py load BASE OUTDIR [--ssl-version-max=tls1.2]
      load the login page: its title, or Chromium's error code
"""
import json
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync "
         "--ignore-certificate-errors --window-size=1280,1700").split()


def browser(extra=()):
    o = webdriver.ChromeOptions()
    for a in FLAGS + list(extra):
        o.add_argument(a)
    o.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="segtls-chromium-"))
    o.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(300)
    return d


def submit(d, element_id):
    """click a button that loads a new page, and wait for that page"""
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, element_id).click()
    WebDriverWait(d, 300).until(EC.staleness_of(old))


def box(d, key, v):
    e = d.find_element(By.ID, key + ":" + v)
    return {"checked": e.is_selected(), "enabled": e.is_enabled()}


def edit(base, user, password, outdir, comment):
    seen = {}
    d = browser()
    try:
        d.get(base + "/")
        seen["login_title"] = d.title
        d.find_element(By.ID, "username").send_keys(user)
        d.find_element(By.ID, "password").send_keys(password)
        submit(d, "login-submit")
        seen["main_title"] = d.title
        seen["notes"] = d.find_element(By.ID, "notes").text
        submit(d, "edit")
        seen["edit_title"] = d.title
        seen["gui_before"] = {v: box(d, "gui.methods", v) for v in ("1.0", "1.1", "1.2", "1.3")}
        d.find_element(By.ID, "gui.methods:1.0").click()
        seen["gui_with_10"] = {v: box(d, "gui.methods", v) for v in ("1.0", "1.1", "1.2", "1.3")}
        try:
            d.find_element(By.ID, "gui.methods:1.1").click()
            seen["click_11"] = "clicked"
        except WebDriverException as e:
            seen["click_11"] = type(e).__name__
        seen["gui_11_after_click"] = box(d, "gui.methods", "1.1")
        tip = d.find_element(By.CSS_SELECTOR, "details.tip summary")
        tip.click()
        seen["tls13_tip"] = d.find_element(By.CSS_SELECTOR, "details.tip[open] .pop").text
        tip.click()
        d.save_screenshot(outdir + "/webui-edit.png")
        d.find_element(By.ID, "gui.methods:1.0").click()
        seen["gui_restored"] = {v: box(d, "gui.methods", v) for v in ("1.0", "1.1", "1.2", "1.3")}
        d.find_element(By.ID, "inbound.methods:1.3").click()
        seen["inbound_after"] = {v: box(d, "inbound.methods", v) for v in ("1.0", "1.1", "1.2", "1.3")}
        submit(d, "submit")
        seen["flash_submit"] = d.find_element(By.ID, "flash").text
        seen["pending"] = d.find_element(By.ID, "pending").text
        d.find_element(By.ID, "comment").send_keys(comment)
        submit(d, "commit")
        seen["flash_commit"] = d.find_element(By.ID, "flash").text
        seen["inbound_view"] = d.find_element(By.ID, "view-inbound.methods").text
        # the newest entry: the first row (ids are stable sequence numbers)
        row = d.find_element(By.CSS_SELECTOR, "#rollback tr[id^='rollback-']")
        seen["rollback_user"] = row.find_element(By.CSS_SELECTOR, "td.user").text
        seen["rollback_restores"] = row.find_element(By.CSS_SELECTOR, "td.restores").text
        d.get(base + "/?live=1")
        d.set_window_size(1280, 2300)
        seen["live_inbound"] = d.find_element(By.ID, "live-inbound").text
        d.save_screenshot(outdir + "/webui-committed.png")
    except Exception:
        # what the browser saw up to here, and where it stopped: the test
        # prints it, and the page is kept as a screenshot and its source
        seen["error"] = traceback.format_exc(limit=3).split("Stacktrace:")[0].rstrip()
        seen["error_url"] = d.current_url
        d.save_screenshot(outdir + "/webui-error.png")
        with open(outdir + "/webui-error.html", "w") as f:
            f.write(d.page_source)
    finally:
        d.quit()
    return seen


def load(base, outdir, extra):
    d = browser(extra)
    try:
        try:
            d.get(base + "/login")
        except WebDriverException as e:
            return {"error": str(e).splitlines()[0]}
        err = d.find_elements(By.CSS_SELECTOR, ".error-code")
        name = "webui-load" + ("-" + extra[0].split("=")[-1] if extra else "") + ".png"
        d.save_screenshot(outdir + "/" + name)
        return {"title": d.title, "error_code": err[0].text if err else None}
    finally:
        d.quit()


if __name__ == "__main__":
    if sys.argv[1] == "edit":
        out = edit(*sys.argv[2:7])
    else:
        out = load(sys.argv[2], sys.argv[3], sys.argv[4:])
    print(json.dumps(out))
    sys.exit(1 if "error" in out else 0)
