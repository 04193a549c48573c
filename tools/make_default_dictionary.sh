#!/usr/bin/env bash
# Trains schema/tape/builtin_dictionary.zdict, the zstd dictionary built into mastotape: what each
# session's first frames (before 2,000 of them have trained the session's own) are compressed
# with. Trained with the zstd tool on frames and backfilled bodies of `synth` sessions of every
# transport and stream kind, from seeds and a host the fixtures do not use, so that the fixtures'
# compression figures are not flattered by a dictionary that has seen them.
# Usage: tools/make_default_dictionary.sh [MASTOTAPE_BINARY] [OUT_FILE]
set -euo pipefail
bin=${1:-build/mastotape}
out=${2:-schema/tape/builtin_dictionary.zdict}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
make_one() {
    n=$((n + 1))
    "$bin" synth --db "$tmp/$n.db" -q --host social.example --seed $((900 + n)) "$@"
    "$bin" export --db "$tmp/$n.db" -o "$tmp/$n.jsonl" 2>/dev/null
}

make_one --stream user --events 600 --connection-ends eof,close --missed-per-gap 20
make_one --stream public --mix update,delete,status.update --events 600
make_one --transport sse --stream hashtag=photography --events 400
make_one --stream user --stream public:local --stream hashtag=art --events 400
make_one --stream direct --events 150
make_one --transport sse --stream list=7 --events 300

mkdir "$tmp/samples"
python3 - "$tmp" <<'PY'
import base64, json, pathlib, sys
tmp = pathlib.Path(sys.argv[1])
i = 0
for path in sorted(tmp.glob("*.jsonl")):
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        record = json.loads(line)
        if record.get("type") not in ("frame", "backfill"):
            continue
        raw = (record["text"].encode("utf-8") if "text" in record
               else base64.b64decode(record["base64"]))
        if len(raw) > 64:
            (tmp / "samples" / f"{i:06d}").write_bytes(raw)
            i += 1
PY
zstd -q --train -r "$tmp/samples" --maxdict=65536 -o "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
