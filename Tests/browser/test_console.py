"""The job console (`GET /console/`) in headless Chromium against the real server: signing in, the
live jobs list, a job's page with its failed records and downloads, abort and delete, and a
refused token. The run also saves docs/console-list.png and docs/console-job.png.

Run by Tests/all.sh after `swift build`; SPECTRA_BULK_BINARY may name the server binary.
The tests run in file order on one server and one browser.
"""

import base64
import os
import time

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ROOT, TOKENS

# The console polls every 5 s: a change shows within one poll and the request it makes.
WAIT = 15


def wait(browser, condition, timeout=WAIT, message=""):
    # A row found a moment ago may have been replaced by the next poll since.
    return WebDriverWait(browser, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
                         ).until(lambda _: condition(), message)


def listed(browser, key):
    """One data attribute of every row, in order, as one snapshot."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#jobs-body tr')].map((row) => row.dataset[arguments[0]])", key)


def facts(browser, job_id):
    """A job row as one snapshot (a poll may replace the row between two separate reads)."""
    return browser.execute_script(
        """
        const row = document.querySelector('#jobs-body tr[data-job-id="' + arguments[0] + '"]');
        if (!row) return null;
        const text = (selector) => row.querySelector(selector).textContent;
        return {
          state: row.dataset.state,
          word: text(".state"),
          value: row.querySelector('[role="progressbar"]').getAttribute("aria-valuenow"),
          processed: text("td.processed"), failed: text("td.failed"), total: text("td.total"),
        };
        """,
        job_id,
    )


def find(browser, selector):
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found else None


def row(browser, job_id):
    return find(browser, f'#jobs-body tr[data-job-id="{job_id}"]')


def sign_in(browser, base_url, token):
    """Opens the console signed out and signs in by keyboard: the token, then Enter."""
    browser.get(base_url + "/console/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(base_url + "/console/")
    field = wait(browser, lambda: find(browser, "#token:not([hidden])"))
    wait(browser, lambda: browser.switch_to.active_element == field, message="the token field has the focus")
    field.send_keys(token, Keys.ENTER)


def csv(records, failing=(), first=1):
    """`records` customers from id `first`; the ones in `failing` have no name (NOT NULL fails them)."""
    lines = ["id,name,email"]
    for number in range(first, first + records):
        name = "" if number in failing else f"Customer {number}"
        lines.append(f"{number},{name},customer{number}@example.com")
    return "\n".join(lines) + "\n"


def screenshot(browser, name):
    """The whole page, without a focus ring or a hover, into docs/."""
    browser.execute_script("document.activeElement && document.activeElement.blur()")
    ActionChains(browser).move_to_element(find(browser, "h1")).perform()
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png",
        "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    })
    with open(os.path.join(ROOT, "docs", name), "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def policy_violations(browser):
    return [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_a_wrong_token_shows_an_error_and_no_data(browser, base_url, rest):
    rest.create()
    sign_in(browser, base_url, "not-a-token")
    error = wait(browser, lambda: find(browser, "#error:not([hidden])"))
    assert "refused the token" in error.text
    assert "UNAUTHENTICATED" in error.text
    assert find(browser, "#jobs-view").get_attribute("hidden") is not None
    assert find(browser, "#sign-in-view").get_attribute("hidden") is None
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-job-id]") == []
    assert browser.execute_script("return sessionStorage.length") == 0
    # The right token, with a tenant that is not its own: X-Tenant-ID is checked too.
    find(browser, "#tenant").send_keys("globex")
    find(browser, "#token").send_keys(TOKENS["acme"], Keys.ENTER)
    error = wait(browser, lambda: "PERMISSION_DENIED" in find(browser, "#error").text and find(browser, "#error"))
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-job-id]") == []


def test_a_job_appears_and_its_bar_reaches_100(browser, base_url, rest):
    sign_in(browser, base_url, TOKENS["acme"])
    wait(browser, lambda: find(browser, "#jobs-view:not([hidden])"))
    assert "acme-console-token" not in browser.current_url
    assert browser.get_cookies() == []

    # Created after the page loaded: the first page picks it up by itself.
    job = rest.create()
    rest.upload(job["job_id"], csv(3000, failing={7, 1500, 2999}))
    shown = wait(browser, lambda: facts(browser, job["job_id"]))
    assert shown["state"] == "Open" and shown["word"] == "Open"
    assert shown["value"] == "0"

    rest.close(job["job_id"])
    done = wait(browser, lambda: (f := facts(browser, job["job_id"])) and f["state"] == "JobComplete" and f,
                message="the row turns JobComplete")
    assert done == {"state": "JobComplete", "word": "JobComplete", "value": "100",
                    "processed": "3,000", "failed": "3", "total": "3,000"}
    # Newest first.
    ids = listed(browser, "jobId")
    assert ids[0] == job["job_id"]
    assert policy_violations(browser) == []


def test_the_job_page_shows_the_failed_records_and_downloads_them(browser, base_url, rest, downloads):
    job = listed(browser, "jobId")[listed(browser, "state").index("JobComplete")]
    # A finished row that did not change stays in place across polls: its link can be clicked.
    row(browser, job).find_element(By.CSS_SELECTOR, "a").click()
    wait(browser, lambda: find(browser, "#failed-table:not([hidden])"))
    view = find(browser, "#job-view")
    assert view.get_attribute("data-state") == "JobComplete"
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#failed-head th")]
    assert headers == ["_record", "_error", "id", "name", "email"]
    failed = browser.find_elements(By.CSS_SELECTOR, "#failed-body tr")
    assert [r.get_attribute("data-record") for r in failed] == ["7", "1500", "2999"]
    first = [cell.text for cell in failed[0].find_elements(By.CSS_SELECTOR, "td")]
    assert first[0] == "7" and first[1].startswith("NOT_NULL:") and first[2:] == ["7", "", "customer7@example.com"]
    assert find(browser, '#job-progress [role="progressbar"]').get_attribute("aria-valuenow") == "100"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart polyline")) == 1
    assert find(browser, "#abort").get_attribute("hidden") is not None

    # The download carries the bearer header (fetch, then a Blob URL), never the token in a URL.
    find(browser, 'button[data-result-set="failed"]').click()
    path = os.path.join(downloads, f"{job}-failed.csv")
    wait(browser, lambda: os.path.exists(path) and os.path.getsize(path) > 0, message="the download arrives")
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "_record,_error,id,name,email" and len(lines) == 4
    assert policy_violations(browser) == []
    screenshot(browser, "console-job.png")


def test_abort_a_running_job_then_delete_it(browser, base_url, rest):
    job = rest.create()
    rest.upload(job["job_id"], csv(50))
    browser.get(base_url + "/console/#/jobs/" + job["job_id"])
    wait(browser, lambda: find(browser, "#job-view").get_attribute("data-state") == "Open")
    abort = find(browser, "#abort")
    assert abort.is_displayed()

    # Cancelling the confirmation changes nothing.
    abort.click()
    dialog = wait(browser, lambda: find(browser, "#confirm[open]"))
    assert job["job_id"] in dialog.text
    find(browser, "#confirm-cancel").click()
    wait(browser, lambda: find(browser, "#confirm[open]") is None)
    abort.click()
    wait(browser, lambda: find(browser, "#confirm[open]"))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser, lambda: find(browser, "#confirm[open]") is None)
    assert rest.job(job["job_id"])["state"] == "Open"
    assert find(browser, "#job-view").get_attribute("data-state") == "Open"

    # By keyboard: the button, Enter, then the confirmation's own button.
    abort.send_keys(Keys.ENTER)
    wait(browser, lambda: find(browser, "#confirm[open]"))
    find(browser, "#confirm-ok").send_keys(Keys.ENTER)
    wait(browser, lambda: find(browser, "#job-view").get_attribute("data-state") == "Aborted")
    assert rest.job(job["job_id"])["state"] == "Aborted"
    assert find(browser, "#job-state .state").text == "Aborted"
    wait(browser, lambda: find(browser, 'button[data-result-set="unprocessed"]'))

    find(browser, "#delete").click()
    wait(browser, lambda: find(browser, "#confirm[open]"))
    find(browser, "#confirm-ok").click()
    wait(browser, lambda: find(browser, "#jobs-view:not([hidden])"))
    status, _, _ = rest.request("GET", f"/v1/bulk/jobs/{job['job_id']}")
    assert status == 404
    wait(browser, lambda: find(browser, "#jobs-body tr") is not None)
    assert row(browser, job["job_id"]) is None


def test_filters_and_the_list_screenshot(browser, base_url, rest):
    # A few more jobs, for the filters and for the picture: a larger load, one aborted, one that
    # fails as a whole (no such table), one still open.
    large = rest.create()
    rest.upload(large["job_id"], csv(20000, failing={10042}, first=10001))
    rest.close(large["job_id"])
    aborted = rest.create()
    rest.upload(aborted["job_id"], csv(10))
    rest.json("PATCH", f"/v1/bulk/jobs/{aborted['job_id']}", {"state": "Aborted"})
    failed = rest.create(object="no_such_table")
    rest.upload(failed["job_id"], csv(5))
    rest.close(failed["job_id"])
    removal = rest.create(operation="delete")
    open_job = rest.create()
    rest.upload(open_job["job_id"], csv(100))
    deadline = time.monotonic() + WAIT
    while any(rest.job(j["job_id"])["state"] not in ("JobComplete", "Failed") for j in (large, failed)):
        assert time.monotonic() < deadline, "the jobs did not finish"
        time.sleep(0.1)

    browser.get(base_url + "/console/#/jobs")
    browser.refresh()
    wait(browser, lambda: row(browser, open_job["job_id"]))
    states = set(listed(browser, "state"))
    assert {"Open", "JobComplete", "Aborted", "Failed"} <= states

    Select(find(browser, "#filter-state")).select_by_value("JobComplete")
    wait(browser, lambda: row(browser, open_job["job_id"]) is None)
    wait(browser, lambda: row(browser, large["job_id"]) is not None)
    assert set(listed(browser, "state")) == {"JobComplete"}

    Select(find(browser, "#filter-state")).select_by_value("")
    Select(find(browser, "#filter-operation")).select_by_value("delete")
    wait(browser, lambda: listed(browser, "jobId")
         == [removal["job_id"]])

    Select(find(browser, "#filter-operation")).select_by_value("")
    wait(browser, lambda: row(browser, large["job_id"]) is not None)
    assert policy_violations(browser) == []
    screenshot(browser, "console-list.png")


def test_paging_follows_the_api_tokens(browser, base_url, rest):
    # More jobs than one page of 25 holds.
    existing = len(rest.json("GET", "/v1/bulk/jobs?limit=1000")["jobs"])
    created = [rest.create()["job_id"] for _ in range(max(0, 30 - existing))]
    browser.get(base_url + "/console/#/jobs")
    browser.refresh()
    wait(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#jobs-body tr")) == 25)
    first = listed(browser, "jobId")
    assert first[0] == created[-1]
    assert find(browser, "#previous-page").get_attribute("disabled") is not None

    find(browser, "#next-page").click()
    wait(browser, lambda: find(browser, "#page-number").text == "Page 2")
    second = listed(browser, "jobId")
    assert len(second) == 5 and not set(second) & set(first)
    assert find(browser, "#next-page").get_attribute("disabled") is not None

    find(browser, "#previous-page").send_keys(Keys.ENTER)
    wait(browser, lambda: find(browser, "#page-number").text == "Page 1")
    assert listed(browser, "jobId") == first


def test_the_operation_filter_reads_past_the_api_pages(browser, base_url, rest):
    # Delete jobs behind more than a whole API page (100) of insert jobs: the API has no operation
    # filter, so the console must read on through the API's pages to fill its own.
    deletes = [rest.create(operation="delete")["job_id"] for _ in range(30)]
    inserts = [rest.create()["job_id"] for _ in range(110)]
    expected = [job["job_id"] for job in rest.json("GET", "/v1/bulk/jobs?limit=1000")["jobs"]
                if job["operation"] == "delete"]
    assert len(expected) == 31 and expected[:30] == deletes[::-1]
    browser.get(base_url + "/console/#/jobs")
    browser.refresh()
    wait(browser, lambda: listed(browser, "jobId") == inserts[::-1][:25])

    Select(find(browser, "#filter-operation")).select_by_value("delete")
    wait(browser, lambda: listed(browser, "jobId") == expected[:25], message="the first 25 delete jobs")
    assert find(browser, "#page-number").text == "Page 1"
    assert find(browser, "#jobs-note").get_attribute("hidden") is not None

    # Page 2 goes on from the middle of the API page where page 1 stopped.
    find(browser, "#next-page").click()
    wait(browser, lambda: find(browser, "#page-number").text == "Page 2")
    wait(browser, lambda: listed(browser, "jobId") == expected[25:], message="the other 6 delete jobs")
    assert find(browser, "#next-page").get_attribute("disabled") is not None

    find(browser, "#previous-page").click()
    wait(browser, lambda: find(browser, "#page-number").text == "Page 1")
    wait(browser, lambda: listed(browser, "jobId") == expected[:25])

    # The filtered first page is read again by itself; the next page then starts after its last job.
    newest = rest.create(operation="delete")["job_id"]
    wait(browser, lambda: listed(browser, "jobId") == [newest] + expected[:24], message="the new job on top")
    first = listed(browser, "jobId")
    find(browser, "#next-page").click()
    wait(browser, lambda: find(browser, "#page-number").text == "Page 2")
    wait(browser, lambda: listed(browser, "jobId") == expected[24:])
    second = listed(browser, "jobId")
    assert not set(first) & set(second) and set(first) | set(second) == {newest, *expected}
    assert policy_violations(browser) == []
