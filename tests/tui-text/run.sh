#!/bin/sh
# The workbench on text data: the real ./thaw in a detached tmux session at
# 120x40 (as tests/tui), on a small labelled text set this test writes (three
# topics with words of their own) and a text model that a Lua script trains
# on it first. Checks `thaw tui --model FILE --data TSV`, the data browser's
# wrapped texts with label, guess, confidence and loss, the misclassified
# and highest-loss filters, the confusion matrix, training, and a text script
# in the workbench. Last line: `N passed, N failed`.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
build_thaw strict
need_tmux
suite_init tuitext
TMP=$SUITE_TMP
export LC_ALL=C.UTF-8

# ---- the fixture: three topics, each text 4 topic words and 3 shared ones
# (a fixed LCG, so the files are the same every run). val.tsv holds 5 texts
# a topic, three games texts labelled sound (the model must get them
# "wrong"), a long text that wraps, and a word the vocabulary lacks.
awk -v dir="$TMP" 'BEGIN {
	split("arcade puzzle joystick level score shooter racing dungeon", g, " ")
	split("telescope molecule spectra physics chemistry genome protein galaxy", sc, " ")
	split("audio mixer synthesizer midi volume speaker sampler equalizer", so, " ")
	for (i = 1; i <= 8; i++) { w["games", i] = g[i]; w["science", i] = sc[i]; w["sound", i] = so[i] }
	split("program tool package free simple fast small", fill, " ")
	seed = 12345
	split("games science sound", order, " ")
	for (rep = 0; rep < 30; rep++)
		for (k = 1; k <= 3; k++) print order[k] "\t" text(order[k]) > (dir "/train.tsv")
	for (k = 1; k <= 3; k++)
		for (rep = 0; rep < 5; rep++) print order[k] "\t" text(order[k]) > (dir "/val.tsv")
	for (rep = 0; rep < 3; rep++) print "sound\t" text("games") > (dir "/val.tsv")
	long = "Zzunseen " text("science")
	for (rep = 0; rep < 6; rep++) long = long " " text("science")
	print "science\t" long > (dir "/val.tsv")
}
function rnd(m) { seed = (seed * 16807) % 2147483647; return seed % m + 1 } # exact in doubles
function text(c,    s, i) {
	s = ""
	for (i = 0; i < 4; i++) s = s w[c, rnd(8)] " "
	for (i = 0; i < 3; i++) s = s fill[rnd(7)] " "
	return toupper(substr(s, 1, 1)) substr(s, 2, length(s) - 2) "."
}'
cat >"$TMP/make.lua" <<'EOF'
-- a text model from scratch on the fixture: embedding, mean pool, dense
local thaw = require "thaw"
local dir = arg[1]
local train = thaw.data.text{path = dir .. "/train.tsv", length = 32}
local m = thaw.model{input = train, seed = 1}
m:add(thaw.nn.embedding{vocab = train, dim = 8, name = "emb"})
m:add(thaw.nn.pool_time{pool = "mean", name = "pool"})
m:add(thaw.nn.dense{units = #train.classes, name = "head"})
m:set_classes(train.classes)
thaw.fit(m, train, {epochs = 30, batch = 16, lr = 0.05, optimizer = "adam"})
thaw.check(thaw.evaluate(m, train).accuracy > 0.95, "the fixture model learns the topics")
m:save(dir .. "/text.thaw")
EOF
if ! ./thaw run "$TMP/make.lua" --out "$TMP/make-run" -- "$TMP" >"$TMP/make.log" 2>&1; then
	bad "fixture" "the text model did not train"
	sed 's/^/     | /' "$TMP/make.log" | tail -n 20
	report
	exit
fi
NV=$(wc -l <"$TMP/val.tsv")

# ---- the same recipe on the command line: thaw train on a text model
if ./thaw train --model "$TMP/text.thaw" --data "$TMP/train.tsv" --val "$TMP/val.tsv" --epochs 1 \
	-o "$TMP/trained.thaw" >"$TMP/train.log" 2>&1 &&
	grep -q "val.tsv: encoded with the model's vocabulary of" "$TMP/train.log" &&
	grep -q 'val acc' "$TMP/train.log"; then
	ok "thaw train --model TEXTMODEL --data TSV encodes the texts for the model"
else
	bad "thaw train --model TEXTMODEL --data TSV encodes the texts for the model" "$(tail -n 1 "$TMP/train.log")"
	sed 's/^/     | /' "$TMP/train.log" | tail -n 10
fi

# ---- --model/--data on text: the data encoded with the model's vocabulary
tmux_start
run_thaw ./thaw tui --model "$TMP/text.thaw" --data "$TMP/train.tsv" --val "$TMP/val.tsv"
see 'untrained head on' 30
see '[●❄] emb *embedding'
see 'pool *pool_time'
see "of $NV · page 1/"
see '#0 games *ok [0-9]*% *loss [0-9.]*'
# the text's words below its label line, lower-cased as the model reads them
sed -n '/#0 games/{n;p;}' "$TMP/screen" | grep -q '│   [a-z]* [a-z]* [a-z]* ' || no "no words under text #0"
finish "thaw tui --model --data TSV: texts with label, guess, confidence and loss"

keys 3 G
see "#$((NV - 1)) science"
screen
sed -n "/#$((NV - 1)) science/{n;p;n;p;}" "$TMP/screen" >"$TMP/long"
[ "$(grep -c '[a-z]' "$TMP/long")" -eq 2 ] || no "the long text does not take two rows"
grep -q '…' "$TMP/long" || no "the long text's cut is not marked with an ellipsis"
keys Enter
see "Text #$((NV - 1))" 5
see 'label  science' 5
see 'guess  [a-z]*  (\(right\|wrong\))' 5
see 'confidence [0-9.]*%   loss [0-9.]*' 5
see '50 tokens; the model reads the first 32' 5
see '<unk>' 5    # zzunseen is not in the model's vocabulary
keys Escape
wait_gone "Text #$((NV - 1))" 5 || no "Escape did not close the text"
finish "G selects the last text; its two rows end in an ellipsis; Enter opens it whole"

keys w
see 'misclassified · ' 5
see '#1[5-7] sound *→games [0-9]*%' 5
screen
grep -q ' ok [0-9]*%' "$TMP/screen" && no "a right guess shows under 'misclassified'"
keys o
see 'highest loss first' 5
screen
# the items' losses, top to bottom (not the selected one's line at the bottom)
grep '│ #[0-9]* [a-z]* ' "$TMP/screen" | grep -v ' true ' | sed -n 's/.*loss \([0-9.]*\).*/\1/p' >"$TMP/losses"
[ "$(wc -l <"$TMP/losses")" -ge 3 ] || no "fewer than 3 losses on the page"
sort -r -n "$TMP/losses" | cmp -s - "$TMP/losses" || no "losses not in descending order: $(tr '\n' ' ' <"$TMP/losses")"
keys a
see 'all classes · all guesses' 5
finish "w shows the misclassified texts, o orders them by loss, a clears"

keys 4
see 'Confusion (validation)' 10
see 'accuracy [0-9.]*% of '"$NV"
see 'Enter shows the texts'
see 'sound *[1-9]'   # three games texts labelled sound: the sound row's games column
keys Down Down Enter
see 'true sound, guess games' 10
see '#1[5-7] sound' 5
finish "the confusion matrix counts the texts; a cell filters the browser"

keys t
see "phase '[a-z-]*' done" 120   # a text model this small trains too fast to watch the status
see 'train 10/10  loss [0-9.]* acc [0-9.]*%  val' 5
finish "t trains the text model"
keys q
see 'save? y/n/c' 5
keys n
see 'THAW-EXIT-0' 10
finish "q quits"

# ---- a text script in the workbench: the browser shows what it evaluated
cat >"$TMP/exp.lua" <<EOF
local thaw = require "thaw"
local m = assert(thaw.load("$TMP/text.thaw"))
local val = thaw.data.text{path = "$TMP/val.tsv"}
thaw.fit(m, thaw.data.text{path = "$TMP/train.tsv"}, {epochs = 2, batch = 16, lr = 0.01})
print("evaluated " .. thaw.evaluate(m, val, {name = "val"}).accuracy)
EOF
tmux_start
run_thaw ./thaw tui "$TMP/exp.lua" --out "$TMP/exp-run"
see 'evaluated 0\.' 60
keys 3
see " of $NV " 10
see '#0 games *ok [0-9]*%' 10
keys q
see 'save? y/n/c' 5
keys n
see 'THAW-EXIT-0' 10
finish "a text script: the browser shows the texts it evaluated"

report
