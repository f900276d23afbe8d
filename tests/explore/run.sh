#!/bin/sh
# The cut-point explorer and the scratch baseline from every frontend:
# `thaw explore` (the table, the PNG chart, its errors), thaw.explore in a
# headless Lua run, and the workbench (tmux): the Explore pane's bars and
# the cut they set, and the scratch baseline's curves and summary beside a
# transfer run. Fashion-MNIST classes 5-9 from the shipped base, a few
# images per class. Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
build_thaw strict
suite_init explore
TMP=$SUITE_TMP
export LC_ALL=C.UTF-8

[ -d /usr/share/datasets/fashion-mnist ] ||
	skip_rest "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
BASE=assets/fashion-base.thaw
DATA="--data fashion-mnist --classes 5,6,7,8,9"

# ---- CLI
expect "explore: a table of cuts, scratch and the best cut" 0 "best cut: pool[12]" -- \
	./thaw explore $BASE $DATA --per-class 6 --folds 3 --head-steps 60 --scratch-steps 20 -o "$TMP/chart.png"
for row in '^pool1 *32x14x14 *6272 ' '^pool2 *64x7x7 *3136 ' '^relu3 *128x1x1 *128 ' '^scratch *(from scratch)' \
	'transfer beats scratch\|scratch wins' 'chart written to'; do
	grep -q -- "$row" "$TMP/out" || bad "explore table: '$row'" "$(cat "$TMP/out")"
done
grep -q 'thaw train --model assets/fashion-base.thaw --cut pool[12] .*--per-class 6' "$TMP/out" &&
	ok "the table says how to use the cut" || bad "the table says how to use the cut" "$(tail -n 2 "$TMP/out")"
is_png "$TMP/chart.png" && ok "explore writes a PNG chart" || bad "explore writes a PNG chart" "no PNG signature"
size=$(wc -c <"$TMP/chart.png" 2>/dev/null || echo 0)
[ "$size" -gt 3000 ] && ok "the chart has content ($size bytes)" || bad "the chart has content" "$size bytes"

expect "explore: --data is required" 1 "--data SPEC is required" -- ./thaw explore $BASE
expect "explore: folds need images" 1 "has 2 labelled images, fewer than the 5 folds" -- \
	./thaw explore $BASE $DATA --per-class 2 --scratch-steps 0
expect "explore: bad --folds" 1 "folds" -- ./thaw explore $BASE $DATA --folds 1
expect "explore: missing model" 1 "nope.thaw" -- ./thaw explore "$TMP/nope.thaw" $DATA
expect "explore --help" 0 "cross-validation" -- ./thaw explore --help

# ---- Lua: thaw.explore returns the cuts, the scratch baseline and the best
cat >"$TMP/ex.lua" <<'EOF'
local thaw = require "thaw"
local train = thaw.data.fashion_mnist{split = "train", classes = {5, 6, 7, 8, 9}, per_class = 6, seed = 2}
local m <close> = assert(thaw.load(thaw.asset("fashion-base.thaw")))
local r = thaw.explore(m, train, {folds = 3, head_steps = 60, scratch_steps = 20, seed = 2})
assert(#r.cuts == 3 and r.cuts[1].name == "pool1" and r.cuts[3].name == "relu3", "cuts")
for _, c in ipairs(r.cuts) do
  assert(c.accuracy >= 0 and c.accuracy <= 1 and c.sd >= 0 and c.seconds >= 0 and c.features > 0, c.name)
  assert(#c.folds == 3, "fold accuracies")
end
assert(r.best == r.cuts[r.best_index], "best is one of the cuts")
for _, c in ipairs(r.cuts) do assert(c.accuracy <= r.best.accuracy, "best has the top accuracy") end
assert(r.scratch and r.scratch.name == "scratch" and type(r.scratch_wins) == "boolean", "scratch")
assert(r.folds == 3 and r.images == 30, "counts")
-- the best cut goes straight into the transfer recipe
thaw.transfer(m, train, {cut = r.best.name})
print("LUA-EXPLORE-OK " .. r.best.name)
local ok, err = pcall(thaw.explore, m, train, {folds = 3, frob = 1})
assert(not ok and err:match("frob"), "unknown keys are refused")
EOF
expect "Lua: thaw.explore table, best cut into thaw.transfer" 0 "LUA-EXPLORE-OK pool" -- \
	./thaw run "$TMP/ex.lua" --out "$TMP/run"

# ---- workbench (tmux)
need_tmux
tmux_start "env -i PATH='$PATH' HOME='$HOME' TERM=xterm-256color LANG=C.UTF-8 sh -c 'cd $ROOT && ./thaw tui --model $BASE $DATA --per-class 10 --epochs 2; echo THAW-EXIT-\$?; sleep 60'"
see 'untrained head on' 90
keys E
see 'Explore cuts' 10
see 'best pool[12] [0-9.]*%' 90
see '  pool1  .*  pool2  .*  relu3' 10
finish "E explores: one bar per cut, named, the best above"

# the explorer's own scratch baseline would take a training per fold: stop it
keys x
see 'stopped' 60
see '^ idle' 30
keys Right Enter
see 'cut after pool2' 10
see 'new head .head.: dense 3136->5' 10
screen
grep -q '│. relu3 ' "$TMP/screen" && no "relu3 is still in the layer list after the cut at pool2"
finish "selecting a bar cuts the model there with a new head"

keys t
sleep 0.5
keys S
see 'scratch baseline' 10
see 'scratch epoch 2/2' 120
see 'transfer [0-9.]*% vs scratch [0-9.]*% (validation): \(transfer ahead\|scratch ahead\|even\)' 30
see '─ scratch' 5
finish "S trains the scratch baseline: curves in the plots, the summary says which is ahead"

keys q
wait_for 'THAW-EXIT-0\|save' 10
keys n 2>/dev/null
tmx kill-server 2>/dev/null

report
