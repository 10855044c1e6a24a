#!/usr/bin/python3
"""Verifies every DKIM-Signature of a message with dkimpy (Debian's python3-dkim), an
implementation independent of the relay's. Reads JSON from stdin:
  {"message": <base64 of the raw message>, "records": {"<selector>._domainkey.<domain>": "<TXT value>"}}
and prints JSON: [{"domain": ..., "selector": ..., "valid": true|false, "error": ...}, ...]."""
import base64
import json
import sys

import dkim

request = json.load(sys.stdin)
message = base64.b64decode(request["message"])
records = request["records"]


def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    value = records.get(key.rstrip("."))
    return value.encode() if value is not None else None


checker = dkim.DKIM(message)
results = []
count = len([h for h in checker.headers if h[0].lower() == b"dkim-signature"])
for index in range(count):
    entry = {"valid": False}
    try:
        entry["valid"] = bool(checker.verify(idx=index, dnsfunc=dnsfunc))
        entry["domain"] = checker.domain.decode() if checker.domain else None
        entry["selector"] = checker.selector.decode() if checker.selector else None
    except Exception as error:  # dkimpy raises for malformed signatures and missing keys
        entry["error"] = str(error)
    results.append(entry)
json.dump(results, sys.stdout)
