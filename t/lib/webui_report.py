#!/usr/bin/python3
"""webui_report.py - Monitor > TLS Connections in headless Chromium.

  webui_report.py BASE USER PASSWORD OUTDIR

Logs in, follows the header's "TLS Connections" link (the default range,
a day), then chooses "All records" and Show, then Direction "Outbound"
and Show. Prints one JSON object: for each of the three pages its title,
URL, selected range and direction, the HTML of the report section and
how many SVG charts Chromium laid out with a size; screenshots of the
second and third pages in OUTDIR (report-all.png, report-outbound.png).
"""
import json
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webui_browser import browser, submit  # noqa: E402


def look(d):
    charts = [e for e in d.find_elements(By.CSS_SELECTOR, "section.segtls-report svg")
              if e.size["width"] > 100 and e.size["height"] > 50]
    sections = d.find_elements(By.CSS_SELECTOR, "section.segtls-report")
    return {
        "title": d.title,
        "url": d.current_url,
        "crumb": d.find_element(By.CSS_SELECTOR, "header .crumb").text,
        "range": Select(d.find_element(By.ID, "range")).first_selected_option.get_attribute("value"),
        "direction": Select(d.find_element(By.ID, "direction")).first_selected_option.get_attribute("value"),
        "html": sections[0].get_attribute("outerHTML") if sections else "",
        "charts": len(charts),
    }


def main():
    base, user, password, outdir = sys.argv[1:5]
    seen = {}
    d = browser()
    try:
        d.get(base + "/")
        d.find_element(By.ID, "username").send_keys(user)
        d.find_element(By.ID, "password").send_keys(password)
        submit(d, "login-submit")
        submit(d, "nav-report")
        seen["day"] = look(d)
        Select(d.find_element(By.ID, "range")).select_by_value("all")
        d.find_element(By.ID, "top").clear()
        d.find_element(By.ID, "top").send_keys("0")
        submit(d, "report-apply")
        seen["all"] = look(d)
        d.set_window_size(1280, min(max(d.execute_script("return document.body.scrollHeight") + 40, 600), 4000))
        d.save_screenshot(os.path.join(outdir, "report-all.png"))
        Select(d.find_element(By.ID, "direction")).select_by_value("outbound")
        submit(d, "report-apply")
        seen["outbound"] = look(d)
        d.save_screenshot(os.path.join(outdir, "report-outbound.png"))
    finally:
        d.quit()
    print(json.dumps(seen))


main()
