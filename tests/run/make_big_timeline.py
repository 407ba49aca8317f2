#!/usr/bin/env python3
"""Writes a timeline of exactly BYTES bytes from a recorded one, for tests at the
size limit (run/recorded_timeline.hpp, timeline/limits.hpp).

  make_big_timeline.py FIXTURE OUT BYTES processes   each sample gets 60 processes,
                                                     then samples repeat, later in time
  make_big_timeline.py FIXTURE OUT BYTES tiny        the recording, then the smallest
                                                     sample records: the most records a
                                                     file of that size can hold
  make_big_timeline.py FIXTURE OUT BYTES pids        the recording, then unit states with
                                                     4,000 one-digit pids each: what is
                                                     written most times its own size
  make_big_timeline.py FIXTURE OUT BYTES garbage     the recording, then lines that are
                                                     no record, each at its own time: the
                                                     most losses a file can make
The recording's end record stays last."""
import json
import sys


def main():
    fixture, out, size, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    records = [json.loads(line) for line in open(fixture) if line.strip()]
    end = json.dumps(records.pop(), separators=(",", ":")) + "\n"
    last_t = max(r.get("t", 0) for r in records)
    lines = []
    for r in records:
        if kind == "processes" and r.get("type") == "sample" and r.get("processes"):
            p = r["processes"][0]
            r["processes"] = [dict(p, pid=1000 + i, comm="worker%d" % i) for i in range(60)]
        lines.append(json.dumps(r, separators=(",", ":")) + "\n")
    samples = [json.loads(l) for l in lines if '"type":"sample"' in l]
    body = "".join(lines)
    parts, total, i = [body], len(body) + len(end), 0
    while True:
        if kind == "tiny":
            line = '{"type":"sample","t":%.3f}\n' % (last_t + 1 + i * 0.001)
        elif kind == "pids":
            line = '{"type":"unit_state","t":%.3f,"unit":"api.service","pids":[%s]}\n' % (
                last_t + 1 + i * 0.001, ",".join(["1"] * 4000))
        elif kind == "garbage":
            line = '{"t":%.3f}\n' % (last_t + 1 + i * 0.001)
        else:
            s = dict(samples[i % len(samples)], t=last_t + 1 + i * 0.5)
            line = json.dumps(s, separators=(",", ":")) + "\n"
        if total + len(line) > size:
            break
        parts.append(line)
        total += len(line)
        i += 1
    pad = size - total  # a blank line of spaces: carries nothing, keeps the size exact
    if pad > 0:
        parts.append(" " * (pad - 1) + "\n")
    parts.append(end)
    with open(out, "w") as f:
        f.write("".join(parts))


main()
