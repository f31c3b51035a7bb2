"""Load a CSV file into the table `customers` and print the records that failed.

Usage: python3 quickstart.py FILE.csv  (SPECTRA_SERVER and SPECTRA_TOKEN say where and who)
"""
import os
import sys

from spectra_bulk import Client

with Client(os.environ.get("SPECTRA_SERVER", "127.0.0.1:50051"), os.environ.get("SPECTRA_TOKEN", "dev-token")) as client:
    result = client.load(sys.argv[1], object="customers")
    print(result.job_id, result.state, result.records_processed, result.records_failed)
    for record in result.failed():
        print(record["_record"], record["_error"])
