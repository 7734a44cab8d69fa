"""The web page in a real browser: headless Debian Chromium uploads a clip and reads the answer.

The page is served on a free localhost port in a thread, on the run `served_run` trained. The
numbers the page shows must be the pipeline's predictions of that clip, the waveform canvas and
the CAM image must be drawn, and the page is saved as a screenshot: in the test's temporary
folder, or where IMPRESSIONS_SCREENSHOT says (`IMPRESSIONS_SCREENSHOT=docs/img/serve.png` renews
the README's image; a plain test run leaves the checkout as it was). bin/test installs Chromium
and ChromeDriver (bin/bootstrap browser) where it can.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from werkzeug.serving import make_server

from impressions import TRAITS
from impressions.web.app import create_app
from impressions.web.runs import load_served
from served_run import DATASET, EMOTION, EMOTION_DATASET

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1700",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
)
MODEL = "summary_cam_cnn"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason="BROWSER TEST SKIPPED: /usr/bin/chromium and /usr/bin/chromedriver are missing; "
    "bin/test installs them (apt-get install chromium chromium-driver) where it runs as root or with sudo",
)

# Draws `arguments[0]` (a canvas or an image) onto a canvas and counts its distinct colours.
COLOURS = """
const source = arguments[0];
const canvas = document.createElement("canvas");
canvas.width = source.naturalWidth || source.width;
canvas.height = source.naturalHeight || source.height;
const ctx = canvas.getContext("2d");
ctx.drawImage(source, 0, 0);
const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
const seen = new Set();
for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
return seen.size;
"""


@pytest.fixture(scope="module")
def page_url(served_run, tmp_path_factory):
    app = create_app(load_served(served_run.configs, served_run.results), max_upload_mb=50, max_duration_s=60, uploads=tmp_path_factory.mktemp("uploads"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_the_page_answers_an_upload_with_the_pipelines_numbers_the_waveform_and_the_cam(served_run, page_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    expected = pd.read_csv(served_run.root / "models" / MODEL / "predictions_test.csv").set_index("clip_id")
    clip_id = expected.index[0]
    browser.get(page_url)
    Select(browser.find_element(By.ID, "model")).select_by_value(f"{DATASET}/{MODEL}")
    browser.find_element(By.ID, "clip").send_keys(served_run.clips[clip_id])
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 90).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("answered", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "answered", browser.find_element(By.ID, "message").text

    for trait in TRAITS:
        value = browser.find_element(By.CSS_SELECTOR, f'#scores tr[data-output="{trait}"] td.value')
        assert float(value.get_attribute("data-value")) == pytest.approx(expected.loc[clip_id, f"{trait}_pred"], abs=1e-5)
        assert float(value.text) == pytest.approx(expected.loc[clip_id, f"{trait}_pred"], abs=1e-4)
    assert browser.execute_script(COLOURS, browser.find_element(By.ID, "waveform")) >= 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frames img")) == 6
    image = browser.find_element(By.ID, "cam-image")
    WebDriverWait(browser, 10).until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    assert browser.execute_script(COLOURS, image) > 50
    assert "CAM identity error" in browser.find_element(By.ID, "cam-identity").text
    assert browser.find_element(By.CSS_SELECTOR, '#timings tr[data-step="total"]').text.endswith("ms")

    screenshot = Path(os.environ.get("IMPRESSIONS_SCREENSHOT") or tmp_path / "serve.png")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000, screenshot  # a page, not an empty image


def test_the_emotion_view_shows_the_class_and_every_probability(served_run, page_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    expected = pd.read_csv(served_run.results / EMOTION_DATASET / "models" / MODEL / "predictions_test.csv").set_index("clip_id")
    clip_id = expected.index[-1]
    browser.get(page_url)
    Select(browser.find_element(By.ID, "model")).select_by_value(f"{EMOTION_DATASET}/{MODEL}")
    browser.find_element(By.ID, "clip").send_keys(served_run.clips[clip_id])
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 90).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("answered", "error"))
    assert browser.find_element(By.ID, "result-title").text.endswith(f"hears {expected.loc[clip_id, 'emotion_pred']}")
    for name in EMOTION.classes:
        value = browser.find_element(By.CSS_SELECTOR, f'#scores tr[data-output="{name}"] td.value')
        assert float(value.get_attribute("data-value")) == pytest.approx(expected.loc[clip_id, f"p_{name}"], abs=1e-5)


def test_a_recording_from_the_microphone_is_answered(page_url, browser):
    """Chromium's fake microphone (a beep) for 6 s: the WebM it records says no duration, so its
    length is checked once decoded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(page_url)
    Select(browser.find_element(By.ID, "model")).select_by_value(f"{DATASET}/{MODEL}")
    browser.find_element(By.ID, "record").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "record").text == "Stop")
    time.sleep(6.5)
    browser.find_element(By.ID, "record").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-recorded") == "yes")
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 90).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("answered", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "answered", browser.find_element(By.ID, "message").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#scores td.value")) == len(TRAITS)


def test_a_bad_upload_shows_its_message_in_the_page(page_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    browser.get(page_url)
    browser.find_element(By.ID, "clip").send_keys(str(text))
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "error")
    assert "not a media file" in browser.find_element(By.ID, "message").text
