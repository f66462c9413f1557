#!/usr/bin/python3
# screenshot.py - open a page in Debian's headless Chromium (through
# chromium-driver and python3-selenium) and save a PNG of it.
#
#   screenshot.py URL OUT.png PROFILE-DIR [CSS-SELECTOR...]
#
# Prints one line per selector: "SELECTOR COUNT" of the elements found,
# then "title: TITLE". The profile directory must be new and empty.
import sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, out, profile = sys.argv[1:4]
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--user-data-dir=" + profile, "--window-size=1400,1200"):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    drv.get(url)
    for sel in sys.argv[4:]:
        print(sel, len(drv.find_elements(By.CSS_SELECTOR, sel)))
    print("title:", drv.title)
    h = drv.execute_script("return document.body.scrollHeight")
    drv.set_window_size(1400, min(max(h + 40, 600), 4000))
    if not drv.save_screenshot(out):
        sys.exit("screenshot failed")
finally:
    drv.quit()
