#!/usr/bin/env bash
# The seed's REST workflow with plain curl, as a user runs it against a running server:
#   export API_URL=http://127.0.0.1:8080/v1 TOKEN=dev-token
#   Tests/curl/seed-workflow.sh
# A query job is created, read, aborted and deleted; an insert job on `customers` (the --demo
# table) gets a CSV through its signed upload URL, is closed, polled to JobComplete, and its
# successful and failed results are checked before it is deleted; a query job then exports the
# rows it loaded. Needs curl and python3.
set -euo pipefail

: "${API_URL:?set API_URL, e.g. http://127.0.0.1:8080/v1}"
: "${TOKEN:?set TOKEN to the bearer token}"
API_URL=${API_URL%/}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
STATUS=""

# request METHOD URL [curl options...]: sets STATUS; the body is in $work/body, the headers in
# $work/headers.
request() {
  local method=$1 url=$2
  shift 2
  STATUS=$(curl -sS -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "$url" "$@")
}

# api METHOD PATH [curl options...]: a request to $API_URL/bulk with the bearer token.
api() {
  local method=$1 path=$2
  shift 2
  request "$method" "$API_URL/bulk$path" -H "Authorization: Bearer $TOKEN" "$@"
}

# field NAME: a top-level field of the JSON body, empty when the body is not JSON or lacks it.
field() {
  python3 -c '
import json, sys
try:
    value = json.load(open(sys.argv[1]))[sys.argv[2]]
except Exception:
    value = ""
print(str(value).lower() if isinstance(value, bool) else value)
' "$work/body" "$1"
}

# header NAME: the value of a response header.
header() {
  grep -i "^$1:" "$work/headers" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true
}

body() {
  cat "$work/body"
}

# check DESCRIPTION ACTUAL EXPECTED
check() {
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1: expected '$3', got '$2' (HTTP $STATUS: $(head -c 300 "$work/body"))" >&2
  fi
}

# check_prefix DESCRIPTION ACTUAL PREFIX
check_prefix() {
  case "$2" in
  "$3"*) check "$1" yes yes ;;
  *) check "$1" "$2" "$3..." ;;
  esac
}

# poll JOB_ID: GETs the job every half second until it is terminal (at most 60 s); sets state.
poll() {
  state=""
  for _ in $(seq 1 120); do
    api GET "/jobs/$1"
    state=$(field state)
    case "$state" in
    JobComplete | Failed | Aborted) break ;;
    esac
    sleep 0.5
  done
}

echo "== auth"
request GET "$API_URL/bulk/jobs"
check "a request without a token is 401" "$STATUS" 401
check "the error names its code" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$work/body")" UNAUTHENTICATED

echo "== query job: create, get, abort, delete"
api POST /jobs -H 'Content-Type: application/json' \
  -d '{"operation":"query","object":"customers","query":"SELECT id, name FROM customers"}'
check "create query job is 201" "$STATUS" 201
query_id=$(field job_id)
check_prefix "it has a job id" "$query_id" bulk-job-
check "it is Open" "$(field state)" Open
check "its operation is query" "$(field operation)" query
api GET "/jobs/$query_id"
check "get query job is 200" "$STATUS" 200
check "get returns the job" "$(field job_id)" "$query_id"
check "it is still Open" "$(field state)" Open
api PATCH "/jobs/$query_id" -H 'Content-Type: application/json' -d '{"state":"Aborted"}'
check "abort is 200" "$STATUS" 200
check "it is Aborted" "$(field state)" Aborted
api DELETE "/jobs/$query_id"
check "delete is 204" "$STATUS" 204
api GET "/jobs/$query_id"
check "a deleted job is 404" "$STATUS" 404

echo "== insert job: create, upload, close, poll, results, delete"
# Ids beyond the demo rows, new on every run (the demo's email column is unique too).
base=$((1000000 + ($(date +%s) % 1000000) * 10))
cat >"$work/data.csv" <<CSV
id,name,email
$((base + 1)),Curl Customer One,curl-$((base + 1))@example.com
$((base + 2)),"Customer, Two",curl-$((base + 2))@example.com
$((base + 3)),,curl-$((base + 3))@example.com
CSV
size=$(wc -c <"$work/data.csv" | tr -d ' ')

api POST /jobs -H 'Content-Type: application/json' \
  -d '{"operation":"insert","object":"customers","content_type":"CSV"}'
check "create insert job is 201" "$STATUS" 201
job_id=$(field job_id)
check "it is Open" "$(field state)" Open
check "its content type is CSV" "$(field content_type)" CSV

api GET "/jobs/$job_id/upload-url"
check "upload-url is 200" "$STATUS" 200
upload_url=$(field upload_url)
check_prefix "the upload URL is on this server, for this job" "$upload_url" "$API_URL/bulk/uploads/$job_id?"
check_prefix "it has an expiry" "$(field expires_at)" 20

request PUT "$upload_url" --data-binary @"$work/data.csv" -H 'Content-Type: text/csv'
check "PUT to the upload URL, without a token, is 200" "$STATUS" 200
check "every byte is stored" "$(field bytes_uploaded)" "$size"
check "the receipt counts records" "$(field records_received | grep -cE '^[0-9]+$' || true)" 1
request PUT "${upload_url/signature=/signature=0}" --data-binary @"$work/data.csv" -H 'Content-Type: text/csv'
check "a tampered upload URL is 403" "$STATUS" 403

api PATCH "/jobs/$job_id" -H 'Content-Type: application/json' -d '{"state":"UploadComplete"}'
check "close is 200" "$STATUS" 200
poll "$job_id"
check "the job completes within 60 s" "$state" JobComplete
check "it processed three records" "$(field number_records_processed)" 3
check "one of them failed" "$(field number_records_failed)" 1
check "progress is 100" "$(field progress_percentage)" 100

api GET "/jobs/$job_id/results"
check "successful results are 200" "$STATUS" 200
check_prefix "they are CSV" "$(header Content-Type)" text/csv
check "Bulk-Locator is null at the end" "$(header Bulk-Locator)" null
check "Bulk-Record-Count is 2" "$(header Bulk-Record-Count)" 2
expected="_record,_created,id,name,email
1,true,$((base + 1)),Curl Customer One,curl-$((base + 1))@example.com
2,true,$((base + 2)),\"Customer, Two\",curl-$((base + 2))@example.com"
check "the successful records are the good rows" "$(body)" "$expected"

api GET "/jobs/$job_id/results?result_set=failed"
check "failed results are 200" "$STATUS" 200
check "Bulk-Record-Count is 1" "$(header Bulk-Record-Count)" 1
check "the failed results start with their header" "$(body | head -n 1)" "_record,_error,id,name,email"
check_prefix "the failing row is record 3, NOT_NULL" "$(body | sed -n 2p)" "3,NOT_NULL: "

api GET "/jobs/$job_id/results?max_records=1" -H 'Accept-Encoding: gzip'
check "a gzip page is 200" "$STATUS" 200
check "it is gzip" "$(header Content-Encoding)" gzip
check "its second line is record 1" "$(gzip -dc <"$work/body" | sed -n 2p | cut -d, -f1)" 1
locator=$(header Bulk-Locator)
api GET "/jobs/$job_id/results?max_records=1&locator=$locator"
check "the next page is the last" "$(header Bulk-Locator)" null
check "it holds record 2" "$(body | sed -n 2p | cut -d, -f1)" 2

api DELETE "/jobs/$job_id"
check "delete is 204" "$STATUS" 204
api GET "/jobs/$job_id"
check "the job is gone" "$STATUS" 404

echo "== query job: run, poll, download"
api POST /jobs -H 'Content-Type: application/json' \
  -d "{\"operation\":\"query\",\"object\":\"customers\",\"query\":\"SELECT id, name FROM customers WHERE id > $base ORDER BY id\"}"
check "create query job is 201" "$STATUS" 201
query_id=$(field job_id)
api PATCH "/jobs/$query_id" -H 'Content-Type: application/json' -d '{"state":"UploadComplete"}'
check "closing a query job starts it" "$STATUS" 200
poll "$query_id"
check "the query job completes" "$state" JobComplete
check "it exported the two loaded rows" "$(field number_records_processed)" 2
api GET "/jobs/$query_id/results"
check "query results are 200" "$STATUS" 200
check "Bulk-Record-Count is 2" "$(header Bulk-Record-Count)" 2
expected="id,name
$((base + 1)),Curl Customer One
$((base + 2)),\"Customer, Two\""
check "the rows are the query's, with its header" "$(body)" "$expected"
api DELETE "/jobs/$query_id"
check "delete is 204" "$STATUS" 204

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
