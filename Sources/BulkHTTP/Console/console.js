// The job console. Every call is the REST API of this server with the tenant's bearer token,
// which stays in this tab's session storage. Nothing is built from HTML strings: text goes in
// through textContent, so a job's fields cannot inject markup.
"use strict";

const API = "/v1/bulk/jobs";
const POLL_MS = 5000;
const PAGE_SIZE = 25;
const FAILED_PAGE = 50;
// With the operation filter, the API is read this many jobs at a time, at most SCAN_PAGES times a page.
const SCAN_LIMIT = 100;
const SCAN_PAGES = 20;
const TERMINAL = new Set(["JobComplete", "Failed", "Aborted"]);
const STORE = { token: "spectra.token", tenant: "spectra.tenant" };

const $ = (id) => document.getElementById(id);

// ---- Session -------------------------------------------------------------------------------

function credentials() {
  return { token: sessionStorage.getItem(STORE.token), tenant: sessionStorage.getItem(STORE.tenant) || "" };
}

function headers(extra) {
  const { token, tenant } = credentials();
  const result = Object.assign({ Authorization: "Bearer " + token }, extra || {});
  if (tenant) result["X-Tenant-ID"] = tenant;
  return result;
}

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// One call of the REST API; throws APIError with the server's code and message.
async function call(path, options) {
  const init = Object.assign({ cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" }, options || {});
  init.headers = headers(init.headers);
  const response = await fetch(path, init);
  if (!response.ok) {
    let code = String(response.status);
    let message = response.statusText;
    try {
      const body = await response.json();
      if (body && body.error) {
        code = body.error.code;
        message = body.error.message;
      }
    } catch (_) {
      // Not JSON: keep the status line.
    }
    if (response.status === 401 || response.status === 403) {
      signOut("The server refused the token (" + code + "): " + message);
    }
    throw new APIError(response.status, code, message);
  }
  return response;
}

function showError(message) {
  const error = $("error");
  error.textContent = message;
  error.hidden = !message;
}

function signOut(message) {
  sessionStorage.removeItem(STORE.token);
  sessionStorage.removeItem(STORE.tenant);
  stopPolling();
  clearViews();
  $("token").value = "";
  showError(message || "");
  if (location.hash !== "#/jobs" && location.hash !== "") location.hash = "#/jobs";
  render();
}

function clearViews() {
  $("jobs-body").replaceChildren();
  $("job-fields").replaceChildren();
  $("failed-head").replaceChildren();
  $("failed-body").replaceChildren();
  $("downloads").replaceChildren();
  $("chart").replaceChildren();
  $("job-title").textContent = "";
  $("session-tenant").textContent = "";
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  const tenant = $("tenant").value.trim();
  if (!token) return;
  sessionStorage.setItem(STORE.token, token);
  if (tenant) sessionStorage.setItem(STORE.tenant, tenant);
  else sessionStorage.removeItem(STORE.tenant);
  try {
    // Checks the token before showing anything; a refusal signs out again with the reason.
    await call(API + "?limit=1");
  } catch (error) {
    if (!(error instanceof APIError && (error.status === 401 || error.status === 403))) {
      signOut("Could not reach the server: " + error.message);
    }
    return;
  }
  $("token").value = "";
  showError("");
  if (location.hash !== "#/jobs") location.hash = "#/jobs";
  else render();
}

// ---- Formatting ----------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat("en-US");

function count(value) {
  return numberFormat.format(Number(value || 0));
}

// Local time: the clock time alone for today, with the date otherwise.
function time(iso, full) {
  if (!iso) return "";
  const date = new Date(iso);
  if (isNaN(date)) return iso;
  const pad = (n) => String(n).padStart(2, "0");
  const day = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  const clock = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  return full || date.toDateString() !== new Date().toDateString() ? day + " " + clock : clock;
}

function timeCell(iso) {
  const cell = element("td", null, "time");
  const node = element("time", time(iso));
  node.dateTime = iso;
  node.title = iso;
  cell.append(node);
  return cell;
}

function duration(job) {
  const start = Date.parse(job.created_at);
  const end = TERMINAL.has(job.state) ? Date.parse(job.updated_at) : Date.now();
  if (isNaN(start) || isNaN(end)) return "";
  let seconds = Math.max(0, Math.round((end - start) / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  seconds %= 60;
  if (hours) return hours + " h " + minutes + " min";
  if (minutes) return minutes + " min " + seconds + " s";
  return seconds + " s";
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function stateBadge(state) {
  return element("span", state, "state state-" + state);
}

// A progress bar: role="progressbar" with aria-valuenow, its fill's width set through the
// CSSOM (which the Content-Security-Policy allows, unlike a style attribute).
function progressBar(job) {
  const percent = Math.max(0, Math.min(100, Number(job.progress_percentage || 0)));
  const wrapper = element("div", null, "progress");
  const bar = element("div", null, "bar state-" + job.state);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-valuenow", String(percent));
  bar.setAttribute("aria-label", "Progress of " + job.job_id);
  const fill = element("span");
  fill.style.width = percent + "%";
  bar.append(fill);
  wrapper.append(bar, element("span", percent + " %", "percent"));
  return wrapper;
}

// ---- Polling -------------------------------------------------------------------------------

let timers = [];

function stopPolling() {
  timers.forEach(clearTimeout);
  timers = [];
}

function later(task) {
  timers.push(setTimeout(task, POLL_MS));
}

// ---- Jobs list -----------------------------------------------------------------------------

// Where a console page starts: an API page token ("" for the first API page) and, with the
// operation filter, the last job already shown from that API page (`after`, with its index `skip`
// for when that job is gone). `pages.stack` holds the start of every page seen so far, the current
// one last; `pages.next` is where the next page starts, or null at the end of the list.
const START = { token: "", after: "", skip: 0 };
let pages = { stack: [START], next: null };
// Each reading of the list counts up, so an answer that arrives after a newer reading began is dropped.
let reading = 0;

function resetPages() {
  pages = { stack: [START], next: null };
}

function listPath(token, limit) {
  const query = new URLSearchParams({ limit: String(limit) });
  const state = $("filter-state").value;
  if (state) query.set("state", state);
  if (token) query.set("offset", token);
  return API + "?" + query.toString();
}

// One console page from `start`: the API's page of 25 without an operation filter. With one, the
// API (which has no operation filter) is read SCAN_LIMIT jobs at a time from `start`, keeping the
// matching jobs, until there are 25 or the list ends or SCAN_PAGES API pages were read.
async function readPage(start) {
  const operation = $("filter-operation").value;
  if (!operation) {
    const list = await (await call(listPath(start.token, PAGE_SIZE))).json();
    return { jobs: list.jobs, next: list.next_offset ? { token: list.next_offset, after: "", skip: 0 } : null, partial: false };
  }
  const jobs = [];
  let position = start;
  for (let scanned = 0; scanned < SCAN_PAGES; scanned++) {
    const list = await (await call(listPath(position.token, SCAN_LIMIT))).json();
    const found = position.after ? list.jobs.findIndex((job) => job.job_id === position.after) : -1;
    const first = found >= 0 ? found + 1 : position.skip;
    for (let index = first; index < list.jobs.length; index++) {
      const job = list.jobs[index];
      if (job.operation !== operation) continue;
      jobs.push(job);
      if (jobs.length === PAGE_SIZE) {
        const rest = index + 1 < list.jobs.length;
        if (rest) return { jobs, next: { token: position.token, after: job.job_id, skip: index + 1 }, partial: false };
        return { jobs, next: list.next_offset ? { token: list.next_offset, after: "", skip: 0 } : null, partial: false };
      }
    }
    if (!list.next_offset) return { jobs, next: null, partial: false };
    position = { token: list.next_offset, after: "", skip: 0 };
  }
  return { jobs, next: position, partial: true };
}

async function loadJobs() {
  stopPolling();
  const current = ++reading;
  const start = pages.stack[pages.stack.length - 1];
  let page;
  try {
    page = await readPage(start);
  } catch (error) {
    if (current !== reading) return;
    if (error instanceof APIError && error.status !== 401 && error.status !== 403) showError(error.message);
    else if (!(error instanceof APIError)) later(loadJobs);
    return;
  }
  if (currentRoute().view !== "jobs" || current !== reading) return;
  showError("");
  pages.next = page.next;
  showRows(page.jobs);
  const note = $("jobs-note");
  note.textContent = page.partial
    ? "Stopped after reading " + SCAN_PAGES + " pages of up to " + SCAN_LIMIT + " jobs from the server; " +
      "more jobs of this operation may follow on the next page."
    : "";
  note.hidden = !page.partial;
  $("previous-page").disabled = pages.stack.length <= 1;
  $("next-page").disabled = !pages.next;
  $("page-number").textContent = "Page " + pages.stack.length;
  if (pages.stack.length === 1) {
    // The first page is read again while it is shown: new jobs appear at its top.
    later(loadJobs);
  } else {
    page.jobs.filter((job) => !TERMINAL.has(job.state)).forEach((job) => later(() => pollRow(job.job_id)));
  }
}

// Puts the page's rows in place: finished rows that did not change stay as they are, the others
// are replaced, new ones inserted; the keyboard focus stays on its job's link.
function showRows(jobs) {
  const body = $("jobs-body");
  const focused = document.activeElement && document.activeElement.closest("#jobs-body tr");
  const focusedID = focused ? focused.dataset.jobId : null;
  const existing = new Map([...body.rows].map((row) => [row.dataset.jobId, row]));
  const rows = jobs.map((job) => {
    const row = existing.get(job.job_id);
    const same = row && row.dataset.state === job.state && row.dataset.updated === job.updated_at && TERMINAL.has(job.state);
    return same ? row : jobRow(job);
  });
  const kept = new Set(rows);
  [...body.rows].filter((row) => !kept.has(row)).forEach((row) => row.remove());
  rows.forEach((row, index) => {
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] || null);
  });
  if (focusedID && !(document.activeElement && document.activeElement.closest("#jobs-body tr"))) {
    const link = body.querySelector('tr[data-job-id="' + CSS.escape(focusedID) + '"] a');
    if (link) link.focus();
  }
  $("jobs-empty").hidden = jobs.length > 0;
}

async function pollRow(id) {
  const row = $("jobs-body").querySelector('tr[data-job-id="' + CSS.escape(id) + '"]');
  if (!row) return;
  let job;
  try {
    job = await (await call(API + "/" + encodeURIComponent(id))).json();
  } catch (error) {
    if (error instanceof APIError && error.status === 404) row.remove();
    else if (!(error instanceof APIError)) later(() => pollRow(id));
    return;
  }
  if (!row.isConnected) return;
  row.replaceWith(jobRow(job));
  if (!TERMINAL.has(job.state)) later(() => pollRow(id));
}

function jobRow(job) {
  const row = document.createElement("tr");
  row.dataset.jobId = job.job_id;
  row.dataset.state = job.state;
  row.dataset.updated = job.updated_at;
  const idCell = element("td");
  const link = element("a", job.job_id, "mono");
  link.href = "#/jobs/" + encodeURIComponent(job.job_id);
  idCell.append(link);
  const stateCell = element("td");
  const badge = stateBadge(job.state);
  if (job.error_message) badge.title = job.error_message;
  stateCell.append(badge);
  const progressCell = element("td");
  progressCell.append(progressBar(job));
  row.append(
    idCell,
    element("td", job.object),
    element("td", job.operation),
    stateCell,
    progressCell,
    element("td", count(job.number_records_processed), "number processed"),
    element("td", count(job.number_records_failed), "number failed"),
    element("td", count(job.number_records_total), "number total"),
    timeCell(job.created_at),
    timeCell(job.updated_at),
    element("td", duration(job), "number duration"),
  );
  return row;
}

// ---- One job -------------------------------------------------------------------------------

let samples = [];
let shownJob = null;

async function loadJob(id, first) {
  if (first) {
    stopPolling();
    samples = [];
    shownJob = null;
    clearJobView();
  }
  let job;
  try {
    job = await (await call(API + "/" + encodeURIComponent(id))).json();
  } catch (error) {
    if (error instanceof APIError && error.status !== 401 && error.status !== 403) showError(error.message);
    else if (!(error instanceof APIError)) later(() => loadJob(id, false));
    return;
  }
  if (currentRoute().id !== id) return;
  showError("");
  const wasTerminal = shownJob !== null && TERMINAL.has(shownJob.state);
  shownJob = job;
  if (samples.length === 0) {
    samples.push({ t: Date.parse(job.created_at), n: 0 });
    // A job first seen finished: nothing was processed before its processing time began.
    const processing = Number(job.total_processing_time_ms || 0);
    if (TERMINAL.has(job.state) && processing > 0) samples.push({ t: Date.parse(job.updated_at) - processing, n: 0 });
  }
  samples.push({ t: TERMINAL.has(job.state) ? Date.parse(job.updated_at) : Date.now(), n: Number(job.number_records_processed || 0) });
  renderJob(job);
  if (TERMINAL.has(job.state)) {
    if (!wasTerminal) await loadResults(job);
  } else {
    later(() => loadJob(id, false));
  }
}

function clearJobView() {
  $("job-title").textContent = "";
  $("job-state").replaceChildren();
  $("job-progress").replaceChildren();
  $("job-fields").replaceChildren();
  $("chart").replaceChildren();
  $("downloads").replaceChildren();
  $("downloads-pending").hidden = false;
  $("failed-head").replaceChildren();
  $("failed-body").replaceChildren();
  $("failed-table").hidden = true;
  $("failed-note").textContent = "";
  $("abort").hidden = true;
  $("delete").hidden = true;
}

function renderJob(job) {
  $("job-title").textContent = "Job " + job.job_id;
  const view = $("job-view");
  view.dataset.jobId = job.job_id;
  view.dataset.state = job.state;
  $("job-state").replaceChildren(stateBadge(job.state));
  $("job-progress").replaceChildren(progressBar(job));
  const fields = [
    ["Object", job.object],
    ["Operation", job.operation],
    ["Content type", job.content_type + (job.compression && job.compression !== "NONE" ? " (" + job.compression + ")" : "")],
    ["External ID field", job.external_id_field],
    ["Query", job.query],
    ["Records processed", count(job.number_records_processed)],
    ["Records failed", count(job.number_records_failed)],
    ["Records total", count(job.number_records_total)],
    ["Chunks", count(job.number_chunks_completed) + " of " + count(job.number_chunks)],
    ["Bytes uploaded", count(job.bytes_uploaded)],
    ["Created", time(job.created_at, true)],
    ["Updated", time(job.updated_at, true)],
    ["Duration", duration(job)],
    ["Processing time", count(job.total_processing_time_ms) + " ms"],
    ["Error", job.error_message],
  ];
  const list = $("job-fields");
  list.replaceChildren();
  for (const [name, value] of fields) {
    if (value === undefined || value === null || value === "") continue;
    list.append(element("dt", name), element("dd", value));
  }
  $("abort").hidden = TERMINAL.has(job.state);
  $("delete").hidden = !TERMINAL.has(job.state);
  drawChart();
}

// Records processed over time, from the samples taken while the page is open (the first one is
// the job's creation, with nothing processed).
function drawChart() {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const make = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const width = 480, height = 220, left = 56, right = 12, top = 12, bottom = 28;
  const points = samples.filter((s) => !isNaN(s.t));
  const t0 = points.length ? points[0].t : 0;
  const t1 = Math.max(t0 + 1000, ...points.map((s) => s.t));
  const top1 = Math.max(1, ...points.map((s) => s.n), shownJob ? Number(shownJob.number_records_total || 0) : 0);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const y = (n) => height - bottom - (n / top1) * (height - top - bottom);
  const nodes = [];
  for (let i = 0; i <= 4; i++) {
    const value = (top1 * i) / 4;
    nodes.push(make("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: i ? "grid" : "axis" }));
    nodes.push(make("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, count(Math.round(value))));
  }
  nodes.push(make("line", { x1: left, x2: left, y1: top, y2: height - bottom, class: "axis" }));
  nodes.push(make("text", { x: left, y: height - 8 }, "0 s"));
  nodes.push(make("text", { x: width - right, y: height - 8, "text-anchor": "end" }, Math.round((t1 - t0) / 1000) + " s"));
  if (points.length) {
    const line = points.map((s) => x(s.t).toFixed(1) + "," + y(s.n).toFixed(1)).join(" ");
    const last = points[points.length - 1];
    nodes.push(make("polygon", { points: x(t0) + "," + y(0) + " " + line + " " + x(last.t) + "," + y(0), class: "area" }));
    nodes.push(make("polyline", { points: line, class: "line" }));
    points.forEach((s) => nodes.push(make("circle", { cx: x(s.t), cy: y(s.n), r: 3, class: "dot" })));
  }
  svg.replaceChildren(...nodes);
  svg.setAttribute("aria-label", "Records processed: " + (points.length ? count(points[points.length - 1].n) : "0"));
}

function resultSets(job) {
  return job.operation === "query" ? ["query"] : ["successful", "failed", "unprocessed"];
}

async function loadResults(job) {
  const downloads = $("downloads");
  downloads.replaceChildren(...resultSets(job).map((set) => {
    const item = element("li");
    const button = element("button", "Download " + set + " results", "download");
    button.type = "button";
    button.dataset.resultSet = set;
    button.addEventListener("click", () => download(job, set));
    item.append(button);
    return item;
  }));
  $("downloads-pending").hidden = true;
  if (job.operation === "query") {
    $("failed-note").textContent = "Query jobs have no failed records.";
    return;
  }
  let response;
  try {
    response = await call(API + "/" + encodeURIComponent(job.job_id) + "/results?result_set=failed&max_records=" + FAILED_PAGE);
  } catch (error) {
    $("failed-note").textContent = "Could not read the failed records: " + error.message;
    return;
  }
  const text = await response.text();
  const rows = job.content_type === "JSON" ? jsonRows(text) : csvRows(text, job.column_delimiter || ",");
  fillFailed(rows, response.headers.get("Bulk-Locator"), job);
}

function fillFailed(rows, locator, job) {
  const [header, ...records] = rows;
  if (!header || records.length === 0) {
    $("failed-note").textContent = "No failed records.";
    $("failed-table").hidden = true;
    return;
  }
  $("failed-head").replaceChildren(...header.map((name) => {
    const cell = element("th", name, name === "_record" ? "number" : "");
    cell.scope = "col";
    return cell;
  }));
  $("failed-body").replaceChildren(...records.map((record) => {
    const row = element("tr");
    row.dataset.record = record[0];
    header.forEach((name, index) => row.append(element("td", record[index] ?? "", name === "_error" ? "error-cell" : name === "_record" ? "number" : "")));
    return row;
  }));
  $("failed-table").hidden = false;
  const more = locator && locator !== "null";
  $("failed-note").textContent = more
    ? "The first " + records.length + " of " + count(job.number_records_failed) + " failed records; download the failed results for all."
    : count(records.length) + " failed " + (records.length === 1 ? "record" : "records") + ".";
}

// RFC 4180 CSV with the job's delimiter: quoted fields, doubled quotes, line ends inside quotes.
function csvRows(text, delimiter) {
  const rows = [];
  let row = [], field = "", quoted = false, i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c; i += 1; continue;
    }
    if (c === '"') { quoted = true; i += 1; continue; }
    if (c === delimiter) { row.push(field); field = ""; i += 1; continue; }
    if (c === "\r" && text[i + 1] === "\n") { i += 1; continue; }
    if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; i += 1; continue; }
    field += c; i += 1;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// A JSON array of objects as a header and rows, `_record` and `_error` first.
function jsonRows(text) {
  let records;
  try {
    records = JSON.parse(text);
  } catch (_) {
    return [];
  }
  if (!Array.isArray(records) || records.length === 0) return [];
  const names = [];
  for (const record of records) for (const key of Object.keys(record)) if (!names.includes(key)) names.push(key);
  const order = (name) => (name === "_record" ? 0 : name === "_error" ? 1 : 2);
  names.sort((a, b) => order(a) - order(b));
  const show = (value) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
  return [names, ...records.map((record) => names.map((name) => show(record[name])))];
}

// A download needs the bearer header, so it cannot be a plain link: fetch it, then hand the
// browser a Blob URL to save.
async function download(job, set) {
  let blob;
  try {
    blob = await (await call(API + "/" + encodeURIComponent(job.job_id) + "/results?result_set=" + set)).blob();
  } catch (error) {
    showError("The " + set + " results could not be downloaded: " + error.message);
    return;
  }
  const url = URL.createObjectURL(blob);
  const link = element("a");
  link.href = url;
  link.download = job.job_id + "-" + set + (job.content_type === "JSON" ? ".json" : ".csv");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ---- Abort and delete ----------------------------------------------------------------------

function confirmAction(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $("confirm-ok").removeEventListener("click", yes);
      $("confirm-cancel").removeEventListener("click", no);
      dialog.removeEventListener("close", no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = () => finish(false);
    $("confirm-ok").addEventListener("click", yes);
    $("confirm-cancel").addEventListener("click", no);
    dialog.addEventListener("close", no);
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

async function abortJob() {
  const job = shownJob;
  if (!job || !(await confirmAction("Abort job " + job.job_id + "? Records not yet applied will not be."))) return;
  try {
    const aborted = await (await call(API + "/" + encodeURIComponent(job.job_id), {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ state: "Aborted" }),
    })).json();
    stopPolling();
    shownJob = null;
    samples.push({ t: Date.parse(aborted.updated_at), n: Number(aborted.number_records_processed || 0) });
    await showJob(aborted);
  } catch (error) {
    showError("The job could not be aborted: " + error.message);
  }
}

async function showJob(job) {
  shownJob = job;
  renderJob(job);
  if (TERMINAL.has(job.state)) await loadResults(job);
}

async function deleteJob() {
  const job = shownJob;
  if (!job || !(await confirmAction("Delete job " + job.job_id + " and all its data? This cannot be undone."))) return;
  try {
    await call(API + "/" + encodeURIComponent(job.job_id), { method: "DELETE" });
  } catch (error) {
    showError("The job could not be deleted: " + error.message);
    return;
  }
  location.hash = "#/jobs";
}

// ---- Routing -------------------------------------------------------------------------------

function currentRoute() {
  const match = /^#\/jobs\/(.+)$/.exec(location.hash);
  if (match) return { view: "job", id: decodeURIComponent(match[1]) };
  return { view: "jobs", id: null };
}

function render() {
  const signedIn = !!credentials().token;
  $("sign-in-view").hidden = signedIn;
  $("session").hidden = !signedIn;
  const route = currentRoute();
  $("jobs-view").hidden = !signedIn || route.view !== "jobs";
  $("job-view").hidden = !signedIn || route.view !== "job";
  if (!signedIn) {
    $("token").focus();
    return;
  }
  const tenant = credentials().tenant;
  $("session-tenant").textContent = tenant ? "tenant " + tenant : "signed in";
  if (route.view === "job") loadJob(route.id, true);
  else loadJobs();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("filter-state").addEventListener("change", () => { resetPages(); loadJobs(); });
  $("filter-operation").addEventListener("change", () => { resetPages(); loadJobs(); });
  $("refresh").addEventListener("click", () => loadJobs());
  $("next-page").addEventListener("click", () => {
    if (!pages.next) return;
    pages.stack.push(pages.next);
    loadJobs();
  });
  $("previous-page").addEventListener("click", () => {
    if (pages.stack.length <= 1) return;
    pages.stack.pop();
    loadJobs();
  });
  $("abort").addEventListener("click", abortJob);
  $("delete").addEventListener("click", deleteJob);
  window.addEventListener("hashchange", render);
  render();
});
