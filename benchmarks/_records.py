"""Benchmark records: a table's rows with the date, the machine and the command that measured them."""

import datetime
import json
import os
import platform
import sys


def write_record(path, rows, script):
    """Write ``rows`` (a list of dicts) as JSON to ``path``, stamped with date, machine and command."""
    record = {
        "command": "python benchmarks/" + " ".join([os.path.basename(script)] + sys.argv[1:]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}",
        "rows": rows,
    }
    with open(path, "w") as stream:
        json.dump(record, stream, indent=2)
        stream.write("\n")
