#!/usr/bin/env python3
"""Runs every example of the product document against a running server, as a user copies them.

The examples come from Tests/curl/seed-examples.md, a copy of the document. Each shell example
runs as written, through bash; only $API_URL, $TOKEN, $UPLOAD_URL and the job id
(`bulk-job-abc123`) are substituted. Each response is checked against the shape the document
shows: its field names, state names and progress fields.

    API_URL=http://127.0.0.1:8080/v1 TOKEN=dev-token \
    SPECTRA_DEMO_WAREHOUSE=.spectra/warehouse/tenant-123.sqlite python3 Tests/curl/seed-examples.py

The server must run with --demo (tenant-123, tables customers and sales). The data-format
examples load into a table `contacts` that the script creates in SPECTRA_DEMO_WAREHOUSE, the demo
tenant's embedded warehouse file. Needs curl, bash and python3; prints "N passed, N failed".
"""

import csv
import gzip
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FIXTURE = Path(__file__).with_name("seed-examples.md")
DOC_JOB_ID = "bulk-job-abc123"
STATES = {"Open", "UploadComplete", "InProgress", "JobComplete", "Failed", "Aborted"}
TERMINAL = {"JobComplete", "Failed", "Aborted"}

passed = 0
failed = 0


def check(description, actual, expected):
    global passed, failed
    if actual == expected:
        passed += 1
        print(f"ok   {description}")
    else:
        failed += 1
        print(f"FAIL {description}: expected {expected!r}, got {actual!r}", file=sys.stderr)


def examples():
    """The document's fenced blocks as {heading: [(language, text), ...]}, in order."""
    blocks = {}
    heading = ""
    language = None
    lines = []
    for line in FIXTURE.read_text().splitlines():
        if language is None:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif line.startswith("```"):
                language = line[3:].strip()
                lines = []
        elif line.startswith("```"):
            blocks.setdefault(heading, []).append((language, "\n".join(lines) + "\n"))
            language = None
        else:
            lines.append(line)
    return blocks


def commands(script):
    """The commands of a shell example: continuation lines joined, comments and blanks dropped."""
    result = []
    current = ""
    for line in script.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        if not line.endswith("\\"):
            result.append(current)
            current = ""
    return result


class Runner:
    def __init__(self, api_url, token, folder):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.folder = folder
        self.upload_url = ""

    def shell(self, command, job_id):
        """Runs one command of an example as written, the job id substituted; returns stdout."""
        environment = dict(os.environ, API_URL=self.api_url, TOKEN=self.token, UPLOAD_URL=self.upload_url)
        completed = subprocess.run(
            ["bash", "-c", "set -e\n" + command.replace(DOC_JOB_ID, job_id)],
            cwd=self.folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{command.strip()} exited {completed.returncode}: {completed.stderr}")
        return completed.stdout

    def json_of(self, command, job_id=DOC_JOB_ID):
        output = self.shell(command, job_id)
        try:
            return json.loads(output)
        except ValueError:
            raise RuntimeError(f"{command.strip()} printed no JSON: {output[:300]!r}")

    def request(self, method, path, body=None, content_type="application/json"):
        """A call the document describes as a route rather than a command: `METHOD /v1/…`."""
        origin = re.match(r"https?://[^/]+", self.api_url).group(0)
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(origin + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None


def expect_shape(description, job, documented):
    """The job has every field the document shows, and the ones that name states hold states."""
    check(f"{description}: has the document's fields", sorted(set(documented) - set(job)), [])
    check(f"{description}: its state is one of the document's", job.get("state") in STATES, True)


def main():
    api_url = os.environ["API_URL"]
    token = os.environ["TOKEN"]
    warehouse = os.environ["SPECTRA_DEMO_WAREHOUSE"]
    blocks = examples()
    folder = tempfile.mkdtemp(prefix="seed-examples-")
    runner = Runner(api_url, token, folder)

    create_query, create_response = blocks["1. Create a Bulk Job"]
    upload = blocks["2. Upload Data (for Insert/Update Operations)"][0][1]
    close = blocks["3. Close the Job"][0][1]
    monitor, monitor_response = blocks["4. Monitor Progress"]
    results = blocks["5. Get Results"][0][1]
    compression = blocks["Compression"][0][1]
    csv_example = blocks["CSV Format"][0][1]
    json_example = blocks["JSON Format"][0][1]
    create_route = blocks["Create Job"][0][1].strip()
    update_route = blocks["Update Job State"][0][1].strip()
    list_route = blocks["List Jobs"][0][1].strip()

    def follow(job_id):
        """Runs the monitor example every half second until the job is terminal."""
        for _ in range(120):
            job = runner.json_of(monitor[1], job_id)
            if job.get("state") in TERMINAL:
                return job
            time.sleep(0.5)
        return job

    def upload_and_close(job_id, data):
        """The upload example (both commands) with `data` as data.csv, then the close example."""
        Path(folder, "data.csv").write_bytes(data)
        get_url, put = commands(upload)
        answer = runner.json_of(get_url, job_id)
        check("upload-url: has upload_url and expires_at", sorted(answer), ["expires_at", "upload_url"])
        runner.upload_url = answer["upload_url"]
        receipt = runner.json_of(put, job_id)
        check("PUT data.csv: every byte is stored", receipt.get("bytes_uploaded"), len(data))
        closed = runner.json_of(close, job_id)
        check("close: the job left Open", closed.get("state") in {"UploadComplete", "InProgress", "JobComplete"}, True)

    print("== 1. create a query job on sales, without a query")
    documented = json.loads(create_response[1])
    job = runner.json_of(create_query[1])
    expect_shape("create", job, documented)
    for name in ("state", "operation", "object", "content_type"):
        check(f"create: {name} is the document's", job.get(name), documented[name])
    check("create: the job id looks like the document's", job["job_id"].startswith("bulk-job-"), True)
    check("create: created_at is an ISO 8601 UTC time", bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", job["created_at"])), True)
    check("create: the filled-in query exports the object", job.get("query"), 'SELECT * FROM "sales"')
    query_id = job["job_id"]

    print("== 3-5. close, monitor and download the query job")
    closed = runner.json_of(close, query_id)
    check("close: answers the job", closed.get("job_id"), query_id)
    done = follow(query_id)
    expect_shape("monitor", done, json.loads(monitor_response[1]))
    check("monitor: the query job completes", done.get("state"), "JobComplete")
    check("monitor: progress reaches 100", done.get("progress_percentage"), 100)
    check("monitor: every sales row is processed", done.get("number_records_processed"), 4)
    rows = list(csv.reader(io.StringIO(runner.shell(results, query_id))))
    check("results: the header is sales' columns", rows[0], ["id", "customer_id", "amount", "sold_at"])
    check("results: one line per sales row", len(rows) - 1, 4)

    print("== compression: an insert of gzip CSV into customers")
    job = runner.json_of(compression)
    check("compression: the job is Open", job.get("state"), "Open")
    check("compression: it is GZIP", job.get("compression"), "GZIP")
    check("compression: it inserts into customers", (job.get("operation"), job.get("object")), ("insert", "customers"))
    # New rows in the document's format: the demo's customers already have ids 1 and 2.
    fresh = csv_example.replace("1,John Doe,john@", "101,John Doe,john@").replace("2,Jane Smith,jane@", "102,Jane Smith,jane@")
    upload_and_close(job["job_id"], gzip.compress(fresh.encode()))
    done = follow(job["job_id"])
    check("compression: the job completes", done.get("state"), "JobComplete")
    check("compression: both records load", (done.get("number_records_processed"), done.get("number_records_failed")), (2, 0))
    lines = runner.shell(results, job["job_id"]).splitlines()
    check("compression: successful results repeat the records", lines, ["_record,_created,id,name,email,created_at", "1,true,101,John Doe,john@example.com,2026-01-01", "2,true,102,Jane Smith,jane@example.com,2026-01-02"])

    print("== data formats: the CSV and JSON examples into a table of the demo tenant")
    with sqlite3.connect(warehouse) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, created_at TEXT)")
    method, path = create_route.split()
    status, job = runner.request(method, path, json.dumps({"operation": "insert", "object": "contacts", "content_type": "CSV"}))
    check(f"{create_route}: 201", status, 201)
    upload_and_close(job["job_id"], csv_example.encode())
    done = follow(job["job_id"])
    check("CSV example: loaded", (done.get("state"), done.get("number_records_processed"), done.get("number_records_failed")), ("JobComplete", 2, 0))
    status, job = runner.request(method, path, json.dumps({"operation": "upsert", "object": "contacts", "content_type": "JSON", "external_id_field": "id"}))
    check(f"{create_route}: 201 for a JSON upsert", status, 201)
    # The upload example sends text/csv; a JSON file goes with its own media type.
    answer = runner.json_of(commands(upload)[0], job["job_id"])
    status, receipt = runner.request("PUT", re.sub(r"https?://[^/]+", "", answer["upload_url"]), json_example, "application/json")
    check("JSON example: stored", receipt.get("bytes_uploaded"), len(json_example.encode()))
    runner.json_of(close, job["job_id"])
    done = follow(job["job_id"])
    check("JSON example: upserted", (done.get("state"), done.get("number_records_processed"), done.get("number_records_failed")), ("JobComplete", 2, 0))
    with sqlite3.connect(warehouse) as connection:
        stored = connection.execute("SELECT id, name, email, created_at FROM contacts ORDER BY id").fetchall()
    check("the table holds both examples' rows", stored, [(1, "John Doe", "john@example.com", "2026-01-01"), (2, "Jane Smith", "jane@example.com", "2026-01-02")])

    print("== update job state: abort")
    status, job = runner.request(method, path, json.dumps({"operation": "insert", "object": "customers"}))
    method_update, path_update = update_route.split()
    status, aborted = runner.request(method_update, path_update.replace("{job_id}", job["job_id"]), json.dumps({"state": "Aborted"}))
    check(f"{update_route} to Aborted: 200", (status, aborted.get("state")), (200, "Aborted"))

    print("== list jobs: state, limit and offset")
    method_list, path_list = list_route.split()
    status, listing = runner.request(method_list, path_list)
    check(f"{list_route}: 200 with jobs and next_offset", (status, sorted(listing)), (200, ["jobs", "next_offset"]))
    check("no job is InProgress any more", [job["state"] for job in listing["jobs"]], [])
    status, first = runner.request("GET", "/v1/bulk/jobs?state=JobComplete&limit=1")
    check("a page of one JobComplete job", [job["state"] for job in first["jobs"]], ["JobComplete"])
    status, second = runner.request("GET", f"/v1/bulk/jobs?state=JobComplete&limit=1&offset={first['next_offset']}")
    check("offset gives the next, older job", (len(second["jobs"]), second["jobs"][0]["job_id"] != first["jobs"][0]["job_id"]), (1, True))

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
