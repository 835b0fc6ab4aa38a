#!/bin/sh
# Interactive prompt test through a real terminal (tmux): a multi-line statement (continuation
# prompt), history recall with the up arrow, .mode, an error and recovery; the transient store's
# banner; Ctrl-C at the prompt and during a COPY. Skips (77) without tmux.
# Usage: tmux_test.sh /path/to/expstore
BIN="$1"
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 77; }
[ -x "$BIN" ] || { echo "SKIP: no binary $BIN"; exit 77; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") # absolute: one session runs elsewhere
TMP=$(mktemp -d /tmp/es_tmux_XXXXXX)
SOCK="$TMP/tmux.sock"
SESSION="es$$"
PASS=0
FAIL=0
WRITER=
cleanup() {
    [ -n "$WRITER" ] && kill "$WRITER" >/dev/null 2>&1
    tmux -S "$SOCK" kill-server >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

send() { tmux -S "$SOCK" send-keys -t "$SESSION" "$@"; }
# line TEXT: type TEXT literally (tmux would treat a trailing ';' as a separator) and Enter
line() {
    t="$1"
    case "$t" in *";") t="${t%;}\\;" ;; esac
    tmux -S "$SOCK" send-keys -t "$SESSION" -l "$t"
    tmux -S "$SOCK" send-keys -t "$SESSION" Enter
}
screen() { tmux -S "$SOCK" capture-pane -p -t "$SESSION" -S -200; }
# wait_for TEXT: poll the pane until TEXT appears (at most 30 s: a passing run waits only as
# long as the shell takes, which under the sanitizers and a loaded machine can be seconds)
wait_for() {
    i=0
    while [ $i -lt 300 ]; do
        if screen | grep -F -- "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
# wait_prompt: poll until the shell waits at an empty primary prompt (the pane's last line is
# "expstore>"; tmux trims the trailing space), e.g. after a Ctrl-C was handled (30 s at most)
wait_prompt() {
    i=0
    while [ $i -lt 300 ]; do
        if [ "$(screen | grep -v '^$' | tail -1)" = "expstore>" ]; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
check() { # check NAME TEXT
    if wait_for "$2"; then
        PASS=$((PASS + 1))
    else
        FAIL=$((FAIL + 1))
        echo "FAIL: $1: did not see '$2'"
        screen | grep -v "^$" | tail -20
    fi
}

HOME="$TMP" tmux -S "$SOCK" new-session -d -s "$SESSION" -x 120 -y 50 \
    "env HOME=$TMP TERM=xterm $BIN $TMP/store"
check "banner" 'Enter ".help"'
check "prompt" "expstore>"

line "CREATE TABLE t (id INT, name TEXT);"
line "INSERT INTO t VALUES (1, 'one'), (2, 'two');"
# multi-line statement: continuation prompt, then the result
line "SELECT id, name"
check "continuation prompt" "...>"
line "FROM t"
line "WHERE id = 2;"
check "multi-line result" "|  2 | two  |"

# .mode json, then the up arrow recalls the multi-line statement (one history entry)
line ".mode json"
send Up Up
sleep 0.3
send Enter
check "history recall in json mode" '[{"id":2,"name":"two"}]'

# an error, then recovery in csv mode
line ".mode csv"
line "SELECT nope FROM t;"
check "error message" "unknown column 'nope'"
check "error caret" "       ^"
line "SELECT upper(name) AS u FROM t WHERE id = 1;"
check "recovery" "ONE"

line ".mode table"
line "SELECT count(*) AS n FROM t;"
check "table mode" "| 2 |"
line ".quit"
# the shell writes the history file after each statement and as it exits: poll (30 s at most)
i=0
while [ $i -lt 300 ] &&
    ! grep -F 'SELECT\040id,\040name\040FROM\040t\040WHERE\040id\040=\0402;' "$TMP/.expstore_history" >/dev/null 2>&1 &&
    ! grep -F 'SELECT id, name FROM t WHERE id = 2;' "$TMP/.expstore_history" >/dev/null 2>&1; do
    sleep 0.1
    i=$((i + 1))
done
if [ $i -lt 300 ]; then
    PASS=$((PASS + 1))
else
    FAIL=$((FAIL + 1))
    echo "FAIL: history file"
    cat "$TMP/.expstore_history" 2>/dev/null
fi

# libedit is loaded when the prompt starts: with a libedit.so.2 lacking its functions first on
# the library path, the prompt says so once and still works (plain line input).
if command -v cc >/dev/null 2>&1; then
    mkdir -p "$TMP/badlib"
    echo 'int es_not_libedit(void) { return 0; }' >"$TMP/badlib/x.c"
    cc -shared -fPIC -o "$TMP/badlib/libedit.so.2" "$TMP/badlib/x.c"
    tmux -S "$SOCK" kill-session -t "$SESSION" >/dev/null 2>&1
    tmux -S "$SOCK" new-session -d -s "$SESSION" -x 120 -y 50 \
        "env HOME=$TMP TERM=xterm LD_LIBRARY_PATH=$TMP/badlib $BIN $TMP/store; sleep 5"
    check "no libedit: warning" "no line editing or history (cannot load libedit.so.2"
    check "no libedit: prompt" "expstore>"
    line "SELECT count(*) AS n FROM t;"
    check "no libedit: query" "| 2 |"
    line ".quit"
fi

# No STORE: a transient in-memory store, said in the banner; nothing is written where it runs.
# Ctrl-C clears a half-typed line and a statement begun on earlier lines, and stops a COPY FROM
# an endless FIFO ("Error: interrupted", nothing committed); the prompt stays.
# (The new session starts before the old one ends, so that the server stays up.)
mkdir -p "$TMP/cwd"
OLD="$SESSION"
SESSION="${SESSION}m"
tmux -S "$SOCK" new-session -d -s "$SESSION" -x 120 -y 50 \
    "cd $TMP/cwd && env HOME=$TMP TERM=xterm $BIN; sleep 5"
tmux -S "$SOCK" kill-session -t "$OLD" >/dev/null 2>&1
check "transient banner" "Connected to a transient in-memory store; use \`expstore DIR\` or \`.open DIR\`"
check "transient prompt" "expstore>"
tmux -S "$SOCK" send-keys -t "$SESSION" -l "SELECT 'half' AS typed"
wait_for "expstore> SELECT 'half' AS typed" # the line editor has it
send C-c
check "Ctrl-C clears the line" "SELECT 'half' AS typed^C"
wait_prompt
line "SELECT 2 AS two;"
check "after Ctrl-C" "|   2 |"
line "SELECT 'begun' AS x"
check "continuation before Ctrl-C" "...>"
send C-c
wait_prompt # not typing into the continuation before the Ctrl-C is handled
line "SELECT 3 AS three;"
check "statement dropped by Ctrl-C" "|     3 |"
if screen | grep -F "syntax error" >/dev/null 2>&1; then
    FAIL=$((FAIL + 1))
    echo "FAIL: Ctrl-C left text behind"
    screen | tail -20
else
    PASS=$((PASS + 1))
fi
line "CREATE TABLE f (x INT, s TEXT);"
mkfifo "$TMP/fifo"
i=0
while [ $i -lt 2000 ]; do echo "1,abc"; i=$((i + 1)); done >"$TMP/rows.csv"
i=0
while [ $i -lt 8 ]; do cat "$TMP/rows.csv" "$TMP/rows.csv" "$TMP/rows.csv" "$TMP/rows.csv"; i=$((i + 1)); done >"$TMP/rows4.csv"
i=0
while [ $i -lt 3 ]; do cat "$TMP/rows4.csv" "$TMP/rows4.csv"; i=$((i + 1)); done >"$TMP/rows2m.csv"
# An endless CSV at about 10 MB/s (the reader parses 8 MiB chunks). The writer runs outside the
# terminal's process group: Ctrl-C reaches the shell only.
(while cat "$TMP/rows2m.csv" 2>/dev/null; do sleep 0.2; done >"$TMP/fifo") &
WRITER=$!
line "COPY f FROM '$TMP/fifo';"
sleep 2
send C-c
check "COPY interrupted" "Error: interrupted"
line "SELECT count(*) AS n FROM f;"
check "nothing committed" "| 0 |"
kill "$WRITER" >/dev/null 2>&1
line ".quit"
sleep 0.3
if [ -e "$TMP/cwd/expstore-data" ]; then
    FAIL=$((FAIL + 1))
    echo "FAIL: a store was created in the working directory"
else
    PASS=$((PASS + 1))
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
