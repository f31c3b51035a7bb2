"""Shared by the console's browser tests: the real server (SPECTRA_BULK_BINARY, or the debug build)
with two tenants on an embedded warehouse, a REST client for setting up jobs, and headless
Chromium driven by Selenium (Debian's `chromium` and `chromium-driver`).
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("SPECTRA_BULK_BINARY", os.path.join(ROOT, ".build", "debug", "spectra-bulk"))
TOKENS = {"acme": "acme-console-token", "globex": "globex-console-token"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@contextlib.contextmanager
def launch_server():
    """A server process with the two tenants on a fresh data directory, and its REST base URL;
    acme's warehouse has `customers` with a NOT NULL `name`, so a record without one fails."""
    assert os.path.exists(BINARY), f"{BINARY} is missing: run `swift build` first"
    data = tempfile.mkdtemp(prefix="spectra-console-")
    tenants = os.path.join(data, "tenants.json")
    with open(tenants, "w") as f:
        json.dump(
            {
                "tenants": [
                    {"id": tenant, "tokens": ["sha256:" + hashlib.sha256(token.encode()).hexdigest()]}
                    for tenant, token in TOKENS.items()
                ]
            },
            f,
        )
    os.makedirs(os.path.join(data, "spectra", "warehouse"))
    with sqlite3.connect(os.path.join(data, "spectra", "warehouse", "acme.sqlite")) as warehouse:
        warehouse.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)")
    process = subprocess.Popen(
        [BINARY, "serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", os.path.join(data, "spectra"),
         "--tenants", tenants],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]
        http = [line for line in lines if line.startswith("http listening on ")]
        assert http, f"unexpected first lines: {lines!r}"
        yield "http://" + http[0].removeprefix("http listening on ")
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "the server did not shut down cleanly on SIGTERM"
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url():
    with launch_server() as url:
        yield url


class REST:
    """The tests' own REST client, for setting up what the console then shows."""

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def request(self, method, path, body=None, headers=None, authorized=True):
        request = urllib.request.Request(
            path if path.startswith("http") else self.base_url + path,
            method=method,
            data=body,
            headers=dict(headers or {}),
        )
        if authorized:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method, path, value=None):
        body = None if value is None else json.dumps(value).encode()
        status, _, data = self.request(method, path, body, {"Content-Type": "application/json"})
        assert status < 300, f"{method} {path}: {status} {data[:300]!r}"
        return json.loads(data) if data else None

    def create(self, object="customers", operation="insert"):
        return self.json("POST", "/v1/bulk/jobs", {"operation": operation, "object": object, "content_type": "CSV"})

    def upload(self, job_id, csv):
        url = self.json("GET", f"/v1/bulk/jobs/{job_id}/upload-url")["upload_url"]
        status, _, data = self.request("PUT", url, csv.encode(), {"Content-Type": "text/csv"}, authorized=False)
        assert status < 300, f"upload: {status} {data[:300]!r}"

    def close(self, job_id):
        return self.json("PATCH", f"/v1/bulk/jobs/{job_id}", {"state": "UploadComplete"})

    def job(self, job_id):
        return self.json("GET", f"/v1/bulk/jobs/{job_id}")


@pytest.fixture(scope="session")
def rest(base_url):
    return REST(base_url, TOKENS["acme"])


@pytest.fixture(scope="session")
def downloads():
    folder = tempfile.mkdtemp(prefix="spectra-console-downloads-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(downloads):
    """Headless Chromium; it must be installed (`apt-get install chromium chromium-driver`)."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    assert os.path.exists(CHROMEDRIVER), f"{CHROMEDRIVER} is missing: apt-get install chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,900", "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
    })
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    try:
        yield driver
    finally:
        driver.quit()
