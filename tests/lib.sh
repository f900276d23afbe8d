# tests/lib.sh: the helpers every shell suite (tests/*/run.sh) shares, in
# POSIX sh. A suite changes to the repository's root and sources it:
#
#	cd "$(dirname "$0")/../.." || exit 1
#	. tests/lib.sh
#	suite_init NAME          # counters, a temporary folder, traps
#	T=$SUITE_TMP
#	expect "a case" 0 "a pattern" -- ./thaw ...
#	report                   # the last line: `N passed, N failed`
#
# report prints the last line make check sums (scripts/run-tests reads
# the same format) and returns non-zero when anything failed, so a suite
# that ends with it exits with that status. Every name the library sets
# for its own use starts with _t_; the rest is listed below.

# ---- counting and the last line

pass=0
fail=0
why=
ROOT=$(pwd -P)

# ok NAME / bad NAME REASON: one case passed or failed
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# Cases that collect several reasons: `no REASON` keeps the first one in
# $why; `verdict NAME` counts the case as passed when there was none,
# else failed with it, clears $why, and returns 1 on a failure (for a
# suite to show more about it).
no() { [ -n "$why" ] || why=$1; }
verdict() {
	if [ -z "$why" ]; then
		ok "$1"
	else
		bad "$1" "$why"
		why=
		return 1
	fi
}

# run_case NAME: runs the suite's function case_NAME as one case; it may
# call `no` and set $skipped (a reason shown beside `ok`) before returning
run_case() {
	why='' skipped=''
	"case_$1"
	verdict "$1${skipped:+ (skipped: $skipped)}"
}

# report: `N passed, N failed`, and the suite's status (1 when any failed)
report() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# skip_rest REASON: says why the rest of the suite cannot run, reports
# what ran so far and exits with the suite's status
skip_rest() {
	echo "skip: $1"
	report
	exit
}

# ---- setup

# suite_init NAME: a fresh folder ${TMPDIR:-/tmp}/thaw-NAME.XXXXXX in
# $SUITE_TMP, removed at exit after the commands given to at_exit; Ctrl-C
# or SIGTERM ends the suite with 130 (and so cleans up too)
SUITE=
SUITE_TMP=
_t_at_exit=
suite_init() {
	SUITE=$1
	SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/thaw-$1.XXXXXX") || {
		echo "FAIL $1: cannot make a temporary folder"
		exit 1
	}
	trap _t_cleanup EXIT
	trap 'exit 130' INT TERM
}
# at_exit COMMAND: runs COMMAND (a shell string) at exit, before the
# temporary folder goes
at_exit() { _t_at_exit="$_t_at_exit$1
"; }
_t_cleanup() {
	eval "$_t_at_exit"
	rm -rf "$SUITE_TMP"
}

# build_thaw [strict]: builds ./thaw. Alone in a tree others are editing,
# a failing build falls back to the ./thaw that is there (with a warning);
# `strict` fails the suite instead (the workbench suites: a stale binary
# would test the wrong screens)
build_thaw() {
	make -s thaw >/dev/null && return 0
	if [ "${1:-}" != strict ] && [ -x ./thaw ]; then
		echo "warning: make thaw failed; testing the existing ./thaw" >&2
		return 0
	fi
	bad "build" "make thaw failed"
	report
	exit
}

# private_thaw: a copy of ./thaw in $SUITE_TMP as $THAW, which a rebuild
# of ./thaw during the run cannot disturb; it finds this tree's lua/ and
# assets/ through THAW_SHARE_DIR
private_thaw() {
	cp ./thaw "$SUITE_TMP/thaw" || exit 1
	THAW=$SUITE_TMP/thaw
	export THAW_SHARE_DIR="$ROOT"
}

# ---- commands and their output

# expect NAME EXIT_CODE PATTERN -- COMMAND...: COMMAND exits with
# EXIT_CODE and its stdout+stderr (kept in $SUITE_TMP/out) match the grep
# PATTERN. A suite may set EXPECT_FIXED=1 (PATTERN is a fixed string) and
# EXPECT_WRAP (words put before COMMAND, e.g. `timeout 120`, or a function
# that runs it elsewhere).
EXPECT_FIXED=
EXPECT_WRAP=
expect() {
	_t_name=$1 _t_code=$2 _t_pat=$3
	shift 4
	$EXPECT_WRAP "$@" >"$SUITE_TMP/out" 2>&1
	_t_rc=$?
	if [ "$_t_rc" -ne "$_t_code" ]; then
		bad "$_t_name" "exit $_t_rc, wanted $_t_code: $(tail -n 5 "$SUITE_TMP/out")"
	elif ! grep -q ${EXPECT_FIXED:+-F} -- "$_t_pat" "$SUITE_TMP/out"; then
		bad "$_t_name" "no '$_t_pat' in: $(tail -n 5 "$SUITE_TMP/out")"
	else
		ok "$_t_name"
	fi
}

# said NAME TEXT: the last expect's output holds TEXT (a fixed string)
said() {
	if grep -qF -- "$2" "$SUITE_TMP/out"; then ok "$1"; else
		bad "$1" "no '$2' in: $(tail -n 3 "$SUITE_TMP/out" | tr '\n' ' ')"
	fi
}

has() { grep -q -- "$2" "$1" 2>/dev/null; }        # has FILE REGEX
has_fixed() { grep -qF -- "$2" "$1" 2>/dev/null; } # has_fixed FILE TEXT

# json_field FILE KEY: the raw value of "KEY": in a one-line-per-key JSON file
json_field() { sed -n "s/^ *\"$2\": *\(.*\),\{0,1\}\$/\1/p" "$1" | sed 's/,$//' | head -n 1; }

# wait_file FILE REGEX [PID]: polls (up to ~30 s) until FILE matches
# REGEX; 1 when the time is up first or PID has ended
wait_file() {
	_t_i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		[ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
		_t_i=$((_t_i + 1))
		[ $_t_i -gt 600 ] && return 1
		sleep 0.05
	done
}

# is_png FILE: FILE starts with the PNG signature
is_png() { [ "$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# png_ok FILE [MIN [MAX]]: a whole PNG: the signature, an IHDR chunk first
# with both sides from MIN to MAX pixels (1 and no limit by default), an
# IEND chunk last. On failure $png_why says what is wrong.
png_ok() {
	png_why=
	[ -s "$1" ] || { png_why="$(basename "$1") missing"; return 1; }
	_t_head=$(od -An -tx1 -N24 "$1" | tr -d ' \n')
	case $_t_head in
	89504e470d0a1a0a0000000d49484452*) ;;
	*) png_why="$(basename "$1"): not a PNG (starts $_t_head)"; return 1 ;;
	esac
	_t_w=$((0x$(printf %s "$_t_head" | cut -c33-40)))
	_t_h=$((0x$(printf %s "$_t_head" | cut -c41-48)))
	if [ "$_t_w" -lt "${2:-1}" ] || [ "$_t_h" -lt "${2:-1}" ] ||
		{ [ -n "${3:-}" ] && { [ "$_t_w" -gt "$3" ] || [ "$_t_h" -gt "$3" ]; }; }; then
		png_why="$(basename "$1"): IHDR size ${_t_w}x$_t_h"
		return 1
	fi
	_t_tail=$(tail -c 12 "$1" | od -An -tx1 | tr -d ' \n')
	[ "$_t_tail" = 0000000049454e44ae426082 ] || { png_why="$(basename "$1"): no IEND chunk at the end"; return 1; }
}

# ---- the workbench in tmux: a detached session `w` on a private socket
# (never the user's server), driven with send-keys and read with
# capture-pane into $SUITE_TMP/screen

# need_tmux: the rest of the suite is skipped without tmux
need_tmux() {
	command -v tmux >/dev/null 2>&1 || skip_rest "tmux is not installed (apt-get install tmux)"
}

_t_sock=
_t_starts=0
tmx() { tmux -L "$_t_sock" -f /dev/null "$@"; }

# tmux_start [COMMAND]: a new server (the last one ended) with a 120x40
# window running COMMAND; without one, a clean shell in which run_thaw
# types commands (it waits for that shell's prompt). The server is killed
# at exit.
tmux_start() {
	[ -n "$_t_sock" ] && tmx kill-server 2>/dev/null
	[ "$_t_starts" -eq 0 ] && at_exit 'tmx kill-server 2>/dev/null'
	_t_starts=$((_t_starts + 1))
	_t_sock=thaw-$SUITE-$$-$_t_starts
	if [ $# -gt 0 ]; then
		tmx new-session -d -s w -x 120 -y 40 "$1"
	else
		tmx new-session -d -s w -x 120 -y 40 \
			"env -i PATH='$PATH' HOME='$HOME' TERM=xterm-256color LANG=C.UTF-8 PS1='$ ' sh"
		wait_for '^\$' 10 || no "no shell prompt"
	fi
}
# run_thaw ARGS...: types `cd ROOT && ARGS; echo THAW-EXIT-$?` into the shell
run_thaw() { keys "cd '$ROOT' && $* ; echo THAW-EXIT-\$?" Enter; }
keys() { tmx send-keys -t w "$@"; }
screen() { tmx capture-pane -p -t w >"$SUITE_TMP/screen" 2>/dev/null; }

# wait_until SECONDS COMMAND...: polls the screen until COMMAND succeeds
wait_until() {
	_t_end=$(($(date +%s) + $1))
	shift
	while :; do
		screen
		"$@" && return 0
		[ "$(date +%s)" -ge "$_t_end" ] && return 1
		sleep 0.1
	done
}
_t_on_screen() { grep -q -e "$1" "$SUITE_TMP/screen"; }
_t_off_screen() { ! grep -q -e "$1" "$SUITE_TMP/screen"; }
# wait_for REGEX [SECONDS]: until REGEX is on the screen (20 s)
wait_for() { wait_until "${2:-20}" _t_on_screen "$1"; }
# wait_gone REGEX [SECONDS]: until REGEX is off the screen (20 s)
wait_gone() { wait_until "${2:-20}" _t_off_screen "$1"; }
# see REGEX [SECONDS]: wait_for, or the case fails with what it did not see
see() { wait_for "$1" "${2:-20}" || no "did not see '$1'"; }

# finish NAME: the verdict of a tmux case; a failure shows the screen
finish() { verdict "$1" || sed 's/^/     | /' "$SUITE_TMP/screen"; }
