"""Parses a Prometheus text exposition (the file named by argv[1]) with the reference parser,
prometheus_client, and prints its samples as JSON lines: {"family", "type", "name", "labels", "value"}.
Exits 2 when prometheus_client is missing (the test skips), 1 when the text does not parse."""
import json
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(2)

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
try:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value = sample.value
            print(json.dumps({"family": family.name, "type": family.type, "name": sample.name,
                              "labels": sample.labels,
                              "value": value if math.isfinite(value) else str(value)}))
except Exception as e:  # the parser's own errors are ValueError, but report anything as a failure
    print(f"parse error: {e}", file=sys.stderr)
    sys.exit(1)
