# json-roundtrip.py: a real CPython workload for `arenalab record --python`:
# builds N records (dicts, lists, strings, ints, floats), serialises them to
# JSON, parses them back, filters and sorts -- the obj and mem domains at
# work, plus the raw domain of interpreter start-up.
#   python3 json-roundtrip.py N     (default 2000)
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
records = [
    {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7), "x" * (i % 13)],
     "price": i * 0.25, "stock": {"here": i % 5, "there": i % 11}}
    for i in range(n)
]
text = json.dumps(records)
back = json.loads(text)
cheap = sorted((r for r in back if r["price"] < n / 8), key=lambda r: r["name"])
print(len(text), "bytes of JSON,", len(cheap), "cheap items")
