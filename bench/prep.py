#!/usr/bin/python3
"""prep.py - write the benchmark's input: N distinct articles as JSON lines

    prep.py OUT N TAG SOURCE.jsonl...

Reads the Reuters JSON lines in the order given, keeps the articles whose title and body are
non-empty after trimming (the others would be rejected by ingest; the count skipped is printed),
and writes N of them to OUT, cycling through the kept articles as often as needed. Pass p of
the cycle (p = 0, 1, ...) gives each article the id "<id>-<TAG><p>" (the text is unchanged),
so every line of OUT is a distinct article and two files written with different TAGs share no
id. Prints one line on stdout: "written=N kept=K skipped=S passes=P bytes=B".
Standard library only.
"""
import json
import sys


def main(argv):
    if len(argv) < 5:
        sys.stderr.write("usage: prep.py OUT N TAG SOURCE.jsonl...\n")
        return 2
    out_path, n, tag, sources = argv[1], int(argv[2]), argv[3], argv[4:]
    kept = []
    skipped = 0
    for path in sources:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                a = json.loads(line)
                title = a.get("title")
                body = a.get("body")
                if not isinstance(title, str) or not title.strip() or \
                        not isinstance(body, str) or not body.strip():
                    skipped += 1
                    continue
                kept.append(a)
    if not kept:
        sys.stderr.write("prep.py: no usable article in the sources\n")
        return 1
    written = 0
    nbytes = 0
    passes = 0
    with open(out_path, "w", encoding="utf-8") as out:
        while written < n:
            for a in kept:
                if written >= n:
                    break
                b = dict(a)
                b["id"] = "%s-%s%d" % (a.get("id", "article%d" % written), tag, passes)
                line = json.dumps(b, ensure_ascii=False, separators=(",", ":")) + "\n"
                out.write(line)
                nbytes += len(line.encode("utf-8"))
                written += 1
            passes += 1
    print("written=%d kept=%d skipped=%d passes=%d bytes=%d" %
          (written, len(kept), skipped, passes, nbytes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
