#!/bin/sh
# bench_shell.sh: the reference workload through the expstore shell and through the sqlite3
# command-line tool on the same machine, same statements, same generated CSV.
#
#   bench/bench_shell.sh [BUILD_DIR]      (ES_BENCH_ROWS=10000000 by default)
#
# Table: id BIGINT primary key, ts TIMESTAMP, user_id INT, category TEXT (20 values),
# amount DOUBLE, note TEXT. Steps: bulk load (COPY / .import), a GROUP BY aggregate, a narrow
# key range, a non-key filter. Prints both timings and the ratio (sqlite / expstore).
# Query rows time whole processes (start-up, opening the store or database, the query, output:
# median of 3 to 21 runs); "in-process" rows time one query inside a
# running session (a session running it K times minus a session running it once, over K - 1).
set -e
BUILD="${1:-$(dirname "$0")/../build}"
BIN="$BUILD/expstore"
ROWS="${ES_BENCH_ROWS:-10000000}"
[ -x "$BIN" ] || { echo "no expstore binary at $BIN" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI not found" >&2; exit 1; }
DIR=$(mktemp -d /tmp/es_bench_shell_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
CSV="$DIR/events.csv"

echo "generating $ROWS rows..."
awk -v n="$ROWS" 'BEGIN {
    srand(42);
    for (i = 0; i < n; i++) {
        s = 1704067200 + int(i / 4);               # 2024-01-01, 4 rows per second
        d = int(s / 86400); r = s % 86400;
        # civil date from days since 1970 (Howard Hinnant)
        z = d + 719468; era = int(z / 146097); doe = z - era * 146097;
        yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365);
        y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100));
        mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1;
        mm = mp < 10 ? mp + 3 : mp - 9; if (mm <= 2) y++;
        printf "%d,%04d-%02d-%02d %02d:%02d:%02d,%d,category_%02d,%.2f,note %d\n",
               i, y, mm, dd, int(r / 3600), int(r / 60) % 60, r % 60,
               int(rand() * 100000), int(rand() * 20), rand() * 1000, int(rand() * 1000000);
    }
}' > "$CSV"
ls -l "$CSV" | awk '{ printf "csv: %.0f MB\n", $5 / 1048576 }'

now() { date +%s.%N; }
el() { echo "$2 - $1" | bc; }
# median N CMD...: median wall seconds of N runs of CMD (output discarded)
median() {
    n=$1; shift
    for i in $(seq "$n"); do
        a=$(date +%s%N); "$@" > /dev/null; b=$(date +%s%N); echo $((b - a))
    done | sort -n | awk '{ v[NR] = $1 } END { printf "%.6f\n", v[int((NR + 1) / 2)] / 1e9 }'
}
# per_query K R SQL CMD...: in-process seconds per query: one session running SQL K times,
# minus one session running it once, divided by K - 1 (median of R; start-up cancels out).
per_query() {
    k=$1 r=$2 q=$3; shift 3
    printf '%s\n' "$q" > "$DIR/q1.sql"
    : > "$DIR/qk.sql"
    for i in $(seq "$k"); do printf '%s\n' "$q" >> "$DIR/qk.sql"; done
    t1=$(median "$r" sh -c '"$@" < "$0"' "$DIR/q1.sql" "$@")
    tk=$(median "$r" sh -c '"$@" < "$0"' "$DIR/qk.sql" "$@")
    echo "($tk - $t1) / ($k - 1)" | bc -l
}

Q_GROUP="SELECT category, count(*), sum(amount), avg(amount), max(user_id) FROM events GROUP BY category ORDER BY category;"
MID=$((ROWS / 2))
Q_RANGE="SELECT count(*), sum(amount), min(ts), max(note) FROM events WHERE id BETWEEN $MID AND $((MID + 999));"
Q_FILTER="SELECT count(*), avg(amount) FROM events WHERE user_id = 4242;"

# ---- expstore
ES_STORE="$DIR/store"
"$BIN" "$ES_STORE" -c "CREATE TABLE events (id BIGINT NOT NULL, ts TIMESTAMP, user_id INTEGER,
    category TEXT, amount DOUBLE, note TEXT, PRIMARY KEY (id));"
t0=$(now); "$BIN" "$ES_STORE" -c "COPY events FROM '$CSV';" </dev/null; t1=$(now)
E_LOAD=$(el "$t0" "$t1")
"$BIN" "$ES_STORE" -csv -c "$Q_GROUP" > "$DIR/e_group.txt"
"$BIN" "$ES_STORE" -csv -c "$Q_RANGE" > "$DIR/e_range.txt"
"$BIN" "$ES_STORE" -csv -c "$Q_FILTER" > "$DIR/e_filter.txt"
E_GROUP=$(median 3 "$BIN" "$ES_STORE" -csv -c "$Q_GROUP")
E_RANGE=$(median 21 "$BIN" "$ES_STORE" -csv -c "$Q_RANGE")
E_FILTER=$(median 5 "$BIN" "$ES_STORE" -csv -c "$Q_FILTER")
"$BIN" "$ES_STORE" -c "EXPLAIN $Q_RANGE" | sed 's/^/    /'

# ---- sqlite3
SQ="$DIR/events.db"
sqlite3 "$SQ" "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER,
    category TEXT, amount REAL, note TEXT);"
t0=$(now); sqlite3 "$SQ" ".import --csv '$CSV' events"; t1=$(now)
S_LOAD=$(el "$t0" "$t1")
sqlite3 -csv "$SQ" "$Q_GROUP" > "$DIR/s_group.txt"
sqlite3 -csv "$SQ" "$Q_RANGE" > "$DIR/s_range.txt"
sqlite3 -csv "$SQ" "$Q_FILTER" > "$DIR/s_filter.txt"
S_GROUP=$(median 3 sqlite3 -csv "$SQ" "$Q_GROUP")
S_RANGE=$(median 21 sqlite3 -csv "$SQ" "$Q_RANGE")
S_FILTER=$(median 5 sqlite3 -csv "$SQ" "$Q_FILTER")

# In-process: the engines without process start-up and store opening (warm, as in a session).
E_GROUP_IN=$(per_query 3 1 "$Q_GROUP" "$BIN" "$ES_STORE" -csv)
E_RANGE_IN=$(per_query 201 3 "$Q_RANGE" "$BIN" "$ES_STORE" -csv)
E_FILTER_IN=$(per_query 6 3 "$Q_FILTER" "$BIN" "$ES_STORE" -csv)
S_GROUP_IN=$(per_query 3 1 "$Q_GROUP" sqlite3 -csv "$SQ")
S_RANGE_IN=$(per_query 201 3 "$Q_RANGE" sqlite3 -csv "$SQ")
S_FILTER_IN=$(per_query 6 3 "$Q_FILTER" sqlite3 -csv "$SQ")

echo
echo "expstore result (group by):"; head -3 "$DIR/e_group.txt"
echo "sqlite result (group by):"; head -2 "$DIR/s_group.txt"
echo "range: expstore $(tail -1 "$DIR/e_range.txt") | sqlite $(cat "$DIR/s_range.txt")"
echo "filter: expstore $(tail -1 "$DIR/e_filter.txt") | sqlite $(cat "$DIR/s_filter.txt")"
echo
printf "%-22s %12s %12s %10s\n" "step ($ROWS rows)" "expstore s" "sqlite3 s" "ratio"
for step in LOAD GROUP RANGE FILTER; do
    eval e=\$E_$step
    eval s=\$S_$step
    printf "%-22s %12.4f %12.4f %9.2fx\n" "$step" "$e" "$s" "$(echo "$s / $e" | bc -l)"
done
for step in GROUP RANGE FILTER; do
    eval e=\$E_${step}_IN
    eval s=\$S_${step}_IN
    printf "%-22s %12.5f %12.5f %9.2fx\n" "$step (in-process)" "$e" "$s" "$(echo "$s / $e" | bc -l)"
done
du -sh "$ES_STORE" "$SQ" | awk '{ printf "size %s: %s\n", $2, $1 }'
