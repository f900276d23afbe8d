#!/bin/sh
# Workbench tests: the real ./thaw in a detached tmux session at 120x40,
# driven with send-keys; each step polls capture-pane until the expected
# text appears (or a timeout passes). Each case prints `ok NAME` or
# `FAIL NAME: reason` followed by the screen; the last line is
# `N passed, N failed`. Usage: tests/tui/run.sh
#
# Two kinds of wait, on purpose: what the UI must do in reply to a key, a
# click or a resize gets 5 s (it must react at once even on a loaded
# machine, during training and validation alike); what waits for the
# trainer (an evaluation, an epoch, a phase) gets a minute or more.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
build_thaw strict
need_tmux
suite_init tui
TMP=$SUITE_TMP
export LC_ALL=C.UTF-8

# laid_out W H: the screen has H lines, none wider than W, the status line last
laid_out() {
	[ "$(wc -l <"$TMP/screen")" -eq "$2" ] && tail -n 1 "$TMP/screen" | grep -q '? help' &&
		[ "$(wc -L <"$TMP/screen")" -le "$1" ]
}
# click X Y: a left click at 0-based cell (X, Y), as an SGR mouse report
click() {
	tmx send-keys -t w -l "$(printf '\033[<0;%d;%dM' $(($1 + 1)) $(($2 + 1)))"
	tmx send-keys -t w -l "$(printf '\033[<0;%d;%dm' $(($1 + 1)) $(($2 + 1)))"
}
status_line() { screen; tail -n 1 "$TMP/screen"; }

# ---- the default session: layers, freezing, training, pause, data, confusion, resize, quit
tmux_start
run_thaw ./thaw
see 'untrained head on' 90
see '1 Layers.*5 Log'
see 'trainable [0-9,]* *❄ frozen [0-9,]*'
see '? help'
grep -q 'fashion-base.thaw not found' "$TMP/screen" && echo "note: assets/fashion-base.thaw is missing; testing the fallback session"
finish "opens the default session"

# from a known state (all thawed), toggle conv1 and conv2, then freeze up to the head's input
keys u
see 'frozen 0 '
see '● conv1 *conv2d'
keys Space
see '❄ conv1 *conv2d'
see 'trainable 420,869'
see 'frozen 320 '
grep -q 'froze conv1' "$TMP/screen" || no "the log does not say conv1 froze"
keys j j j j Space
see '❄ conv2'
see 'frozen 18,816 '
keys G k f
see 'trainable 645 '
see '❄ fc1'
see 'bn frozen'
keys g
finish "space toggles freezing; markers and totals follow"

keys t
see 'epoch [0-9]*/10 .*img/s' 20
see 'phase 1' 10
wait_gone 'no training yet' 20 || no "the plot did not start"
see 'epoch 2/10' 60
grep -q ' 1/10  loss .* val ' "$TMP/screen" || no "no epoch line in the log"
finish "t trains: progress, plots and log move"

keys p
see 'PAUSED' 10
s1=$(status_line)
# while paused the batch counter must not move (a short watch, polling)
i=0
while [ $i -lt 10 ]; do
	sleep 0.1
	[ "$(status_line)" = "$s1" ] || no "progress moved while paused: '$s1' -> '$(status_line)'"
	i=$((i + 1))
done
keys p
wait_gone 'PAUSED' 10 || no "p did not resume"
e1=$(echo "$s1" | sed -n 's/.*epoch \([0-9]*\)\/10.*/\1/p')
see "epoch $((e1 + 1))/10" 60
finish "p pauses and resumes"

keys 3
keys w
see 'misclassified · ' 10
screen
grep -q ' ok [0-9]*%' "$TMP/screen" && no "a correctly classified image shows under 'misclassified'"
see '→[A-Z]'
keys o
see 'highest loss first' 5
keys a
see 'all classes · all guesses' 5
finish "data browser filters misclassified, orders by loss"

keys 4
see 'Confusion (validation)' 10
see 'recall'
see 'accuracy [0-9.]*% of 5000'
keys Down Right Right Enter
see 'true Shirt, guess Sneaker' 10
finish "confusion matrix; a cell filters the browser"

# training may still run here on a busy machine: the relayout must not wait for it
tmx resize-window -t w -x 90 -y 30
wait_until 5 laid_out 90 30 || no "no sane 90x30 layout within 5 s"
grep -q '┌ Layers' "$TMP/screen" || no "no layers pane at 90x30"
tmx resize-window -t w -x 70 -y 20
see 'at least 80x24 (this one is 70x20)' 5
tmx resize-window -t w -x 120 -y 40
wait_until 5 laid_out 120 40 || no "no sane 120x40 layout within 5 s"
grep -q '┌ Layers' "$TMP/screen" || no "no layers pane at 120x40"
finish "resize relays out; below 80x24 a clear message"

# clicking a layer's marker toggles it (the marker column is x 1, conv1 on row 3)
keys 1
click 1 3
see '● conv1' 5
click 1 3
see '❄ conv1' 5
screen
click "$(head -n 1 "$TMP/screen" | awk '{ print index($0, "4 Confusion") }')" 0
see 'Confusion (validation)' 5
finish "mouse clicks select and toggle"

see "phase '[a-z-]*' done" 180
keys q
see 'model changed since last save: save? y/n/c' 5
keys c
wait_gone 'save? y/n/c' 5 || no "c did not cancel"
keys q n
see 'THAW-EXIT-0' 10
screen
grep -q '┌ Layers' "$TMP/screen" && no "the workbench is still on screen after quit"
grep -q '^\$' "$TMP/screen" || no "no shell prompt after quit"
finish "q asks when training would be lost, then restores the terminal"

# ---- quitting during training, and SIGTERM
tmux_start
run_thaw ./thaw tui --epochs 50 -o "$TMP/wb.thaw"
see 'untrained head on' 30
keys t
see 'epoch [0-9]*/50' 20
keys l C-u
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace 0 . 0 0 5 Enter
see 'learning rate 0.005' 10
see 'lr 0.005' 10
keys s Enter
see 'store the optimizer state too' 5
keys Enter
see "saved $TMP/wb.thaw" 10
[ -s "$TMP/wb.thaw" ] || no "no model file after s"
keys q
see 'Training is running' 5
keys y
see 'THAW-EXIT-0' 15
finish "l sets the learning rate, s saves, quit while training stops the worker"

run_thaw "sh -c 'echo \$\$ > $TMP/pid; exec ./thaw tui --epochs 50'"
see 'untrained head on' 30
keys t
see 'epoch [0-9]*/50' 20
kill -TERM "$(cat "$TMP/pid")"
see 'THAW-EXIT-130' 15
screen
grep -q '┌ Layers' "$TMP/screen" && no "the screen was not restored after SIGTERM"
finish "SIGTERM restores the terminal (exit 130)"

# ---- fallbacks: NO_COLOR and a non-UTF-8 locale give plain ASCII
run_thaw env NO_COLOR=1 LANG=C LC_ALL=C ./thaw
see '+ Layers -' 30
keys u
see '^|o conv1 '
keys Space
see '^|\* conv1 '
grep -q '[│❄●]' "$TMP/screen" && no "non-ASCII characters in ASCII mode"
keys q
see 'THAW-EXIT-0' 10
finish "NO_COLOR and LANG=C: ASCII, no colour"

run_thaw env TERM=dumb ./thaw
see '+ Layers -' 30
see '? help'
grep -q '[│❄●]' "$TMP/screen" && no "non-ASCII characters with TERM=dumb"
keys q
see 'THAW-EXIT-0' 10
finish "TERM=dumb: ASCII, no colour"

# ---- a model and a folder of other classes: the transfer recipe, said in the log
if [ -d /usr/share/datasets/fashion-mnist ] && [ -f assets/fashion-base.thaw ]; then
	./thaw data fashion-mnist:test --classes 5,6,7 --per-class 20 --export "$TMP/f" >/dev/null 2>&1 ||
		echo "note: could not export the test folder"
	run_thaw ./thaw tui --model assets/fashion-base.thaw --data "$TMP/f"
	see 'untrained head on' 30
	see 'cut after drop1 (old head fc2: 5 classes)'
	see "new head 'head': dense 128->3 for classes"   # the log wraps at spaces
	see '00-Sandal, 01-Shirt, 02-Sneaker'
	see 'froze the 12 layers before the head (420,544'
	see 'held out a stratified 20 % (12 images) for'
	see '● head *dense *3 *387 '
	see '❄ fc1 *dense'
	see '❄ drop1 '
	see 'trainable 387 *❄ frozen 420,544'
	see '12 of 12'                # the browser shows the held-out images, not the training set
	keys q
	see 'THAW-EXIT-0' 10
	finish "--model/--data: the old head is cut, a new head added, the base frozen, 20 % held out"
fi

# ---- a Lua script with live views; its print() and its error go to the log
cat >"$TMP/exp.lua" <<'EOF'
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 240, classes = 3, size = {12, 12}, seed = 3}
local train, val = data:split(0.25)
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 3}
m:set_classes(data.classes)
print("hello from the script")
thaw.fit(m, train, {phase = "warm", epochs = 2, batch = 16, val = val})
thaw.evaluate(m, val, {name = "val"})
error("deliberate failure at the end")
EOF
run_thaw ./thaw tui "$TMP/exp.lua" --out "$TMP/exp-run"
see 'hello from the script' 20
see 'evaluate val: loss' 30
see 'script error (exit 1)' 10
see 'exp.lua:9: '
see 'Confusion'
keys 4
see 'recall' 5
keys 3
see ' of 60 ' 5          # the browser shows the data the script evaluated
see ' ok [0-9][0-9]*%' 5      # with the model's guesses
keys q
see 'model changed since last save' 5   # the script trained a model it did not save
keys n
see 'THAW-EXIT-1' 10                    # a script error fails the command
finish "a script runs with live views; its error stays in the log (exit 1); the browser shows its evaluation"

# ---- a long validation pass (30,000 images) and the UI: a click toggles a
# layer, a key opens the help, a resize relays out, each within 5 s and
# before the pass ends. A click's release once left the UI thread in a
# blocking read until the next key, and a toggle waited for the whole pass:
# the screen froze while the worker validated.
if [ -d /usr/share/datasets/fashion-mnist ] && [ -f assets/fashion-base.thaw ]; then
	# relaid W H: H lines, none wider than W, the status line last and still validating
	relaid() {
		[ "$(wc -l <"$TMP/screen")" -eq "$2" ] && [ "$(wc -L <"$TMP/screen")" -le "$1" ] &&
			tail -n 1 "$TMP/screen" | grep -q 'validating'
	}
	validating() { screen; tail -n 1 "$TMP/screen" | grep -q 'validating'; }
	tmux_start
	run_thaw ./thaw tui --model assets/fashion-base.thaw --data fashion-mnist:test --classes 5,6,7,8,9 \
		--per-class 20 --val fashion-mnist:train --epochs 1
	see 'untrained head on fashion-mnist:train' 180
	see '❄ conv1 ' 5
	keys t
	wait_until 120 validating || no "no validation pass after t"
	click 1 3 # conv1's marker
	tmx resize-window -t w -x 90 -y 30
	wait_until 5 relaid 90 30 || no "no relayout to 90x30 within 5 s of a resize during validation"
	see '● conv1 ' 5
	validating || no "the click was answered only after the validation pass"
	keys '?'
	see 'any key closes' 5
	validating || no "the key was answered only after the validation pass"
	keys Space
	wait_gone 'any key closes' 5 || no "a key did not close the help"
	tmx resize-window -t w -x 120 -y 40
	wait_until 5 relaid 120 40 || no "no relayout to 120x40 within 5 s, while validating"
	grep -q '┌ Layers' "$TMP/screen" || no "no layers pane at 120x40"
	see "phase '[a-z-]*' done" 180
	grep -q 'thawed conv1' "$TMP/screen" || no "the log does not say conv1 thawed"
	keys q
	see 'save? y/n/c' 5
	keys n
	see 'THAW-EXIT-0' 10
	finish "during a long validation pass: click, key and resize answered within 5 s"
fi

# ---- a 10-way head cut from the 5-class base: it once kept the 5 old
# names for 10 outputs and the workbench read past them (a crash)
./thaw edit assets/fashion-base.thaw -o "$TMP/m10.thaw" --pop --head 10 >"$TMP/edit.out" 2>&1 ||
	no "thaw edit --pop --head 10 failed: $(tail -n 2 "$TMP/edit.out")"
./thaw summary "$TMP/m10.thaw" >"$TMP/m10.summary" 2>&1
grep -q 'classes: none' "$TMP/m10.summary" || no "the new head kept class names: $(grep classes "$TMP/m10.summary")"
data10=synth:300
[ -d /usr/share/datasets/fashion-mnist ] && data10=fashion-mnist:test
tmux_start
run_thaw ./thaw tui --model "$TMP/m10.thaw" --data $data10
see '1 Layers.*5 Log' 30
see 'head *dense'
keys 3
see ' of [0-9]* ' 20
keys 4
see 'recall' 10
keys q
see 'THAW-EXIT-0' 10
finish "a new 10-way head on the 5-class base opens without stale names"

# a saved training position: thaw train's checkpoint after 1 of 3 epochs;
# the workbench continues that phase at epoch 2 instead of starting anew
./thaw train --data synth:300 --epochs 1 --batch 32 --checkpoint "$TMP/ck.thaw" >/dev/null 2>&1
tmux_start
run_thaw ./thaw tui --model "$TMP/ck.thaw" --data synth:300 --epochs 3 --batch 32
see '1 Layers.*5 Log' 30
keys t
see '^│train 3/3  loss' 60
grep -q '^│train 1/3' "$TMP/screen" && no "epoch 1 trained again"
grep -q '^│train 2/3  loss' "$TMP/screen" || no "no epoch 2 line"
keys q
see 'save? y/n/c' 5
keys n
see 'THAW-EXIT-0' 10
finish "--model with a saved position: t continues that phase"

# ---- 80x24, the stated minimum: every pane shows something useful
plots_drawn() { sed -n '3,9p' "$TMP/screen" | grep -q '┤'; }   # axis ticks: a plot, not the placeholder
tmux_start
tmx resize-window -t w -x 80 -y 24
run_thaw ./thaw tui --epochs 2
see 'untrained head on' 30
see '● head *dense'                 # the layer that trains is in view
see 'of 5000'
see 't trains'
wait_until 5 laid_out 80 24 || no "not laid out at 80x24"
finish "80x24: the layer that trains is in view"

keys e C-u 3 Enter
see 'epochs per phase 3' 5
keys B C-u 25 Enter
see 'batch size 25' 5
see 't trains 3 epochs (e)  batch 25 (B)' 5
keys A C-u 'shift=2 flip=yes' Enter
see 'augment: shift 2, flip on' 5
keys A C-u none Enter
see 'augment: shift 0, flip off' 5
keys e C-u 0 Enter
see "error: epochs must be positive" 5
keys t
see "phase 1 'head': 3 epochs, batch 25" 20
see "phase 'head' done" 90
wait_until 10 plots_drawn || no "no curve in the 80x24 plots"
keys 5 z
see "phase 1 'head': 3 epochs, batch 25, adam lr 0.01;" 5   # wrapped at a space, not inside the number
# a bad value gets the option table's message, word for word what
# `thaw train --NAME VALUE` says (less its "thaw train: --NAME: " prefix)
for bad in "e epochs abc" "l lr -1" "B batch 0" "A shift 99"; do
	set -- $bad
	cli=$(./thaw train --"$2" "$3" 2>&1 | head -n 1)
	msg=${cli#"thaw train: --"}   # "epochs: 'abc' ...", or "lr: " before a message that says "learning rate"
	[ "$msg" = "$cli" ] && no "unexpected CLI message for --$2 $3: $cli"
	if [ "$1" = A ]; then keys A C-u "shift=$3" Enter; else keys "$1" C-u "$3" Enter; fi
	wait_until 5 grep -qF -e "error: $msg" -e "error: ${msg#"$2: "}" "$TMP/screen" ||
		no "$1 $3: the log does not say '$msg'"
done
keys z
finish "e, B, A set the next phase's epochs, batch size, augmentation; plots draw at 80x24"

keys 4
see 'recall' 10
see '│ Ankle boot ' 5                  # whole class names when they fit
see 'accuracy [0-9.]*% of 5000' 5     # the footer is not cut off
keys 2 z
see '\[zoom\]' 5
wait_gone '┌ Layers' 5 || no "z did not enlarge the plots"
plots_drawn || no "no curve in the zoomed plots"
keys z
see '┌ Layers' 5
wait_gone '\[zoom\]' 5 || no "z did not restore the layout"
finish "confusion at 80x24; z zooms the focused pane and back"

keys 3
keys Enter
see 'Image #' 5
see 'confidence [0-9.]*%' 5
see 'label  ' 5
keys Escape
wait_gone 'Image #' 5 || no "Esc did not close the image"
keys G
see '#4999 ' 5
keys g
see '#0 ' 5
screen
grep -q "phase 2" "$TMP/screen" && no "Enter in Data started training"
finish "Data: Enter opens the image, Esc closes it; g/G first and last"

keys 1 u t
see "phase 2 'fine-tune'" 20
see "phase 'fine-tune' done" 120
finish "a phase is named from its freezing (fine-tune when all layers train)"

tmx resize-window -t w -x 120 -y 40
keys s
see 'save to: runs/workbench-[0-9-]*/model.thaw' 5
keys C-u "$TMP/a.thaw" Enter
see 'store the optimizer state too' 5
keys n
see "saved $TMP/a.thaw" 10
size1=$(wc -c <"$TMP/a.thaw" 2>/dev/null || echo 0)
keys s C-u "$TMP/a.thaw" Enter
see 'a.thaw exists: overwrite? (y/n)' 5
keys n
see 'kept .*a.thaw as it was' 5
keys s C-u "$TMP/a.thaw" Enter
see 'exists: overwrite' 5
keys y
see 'store the optimizer state too' 5
keys y
see 'optimizer state)' 10
size2=$(wc -c <"$TMP/a.thaw" 2>/dev/null || echo 0)
[ "$size2" -gt "$size1" ] || no "the optimizer state did not make the file larger ($size1 -> $size2)"
./thaw summary "$TMP/a.thaw" >/dev/null 2>&1 || no "the saved model does not load"
finish "s proposes a run folder, asks before overwriting, and about the optimizer state"

keys X
see 'export ONNX to: ' 5
keys C-u "$TMP/out.onnx" Enter
see "exported ONNX to $TMP/out.onnx" 10
./thaw summary "$TMP/out.onnx" >"$TMP/onnx.summary" 2>&1 || no "thaw summary out.onnx: $(tail -n 1 "$TMP/onnx.summary")"
finish "X exports ONNX that thaw summary loads"

keys t
see "phase 3 'fine-tune'" 20
see '^ idle  t trains' 120          # the status line once phase 3 is over
keys q
see 'model changed since last save: save? y/n/c' 5
keys y
see 'save to: ' 5
keys C-u "$TMP/q.thaw" Enter
see 'store the optimizer state too' 5
keys Enter
see 'THAW-EXIT-0' 15
[ -s "$TMP/q.thaw" ] || no "y did not save before quitting"
finish "q with an unsaved model: y saves, then quits"

# ---- a script's files go to its run folder, not the current directory
cat >"$TMP/w.lua" <<'EOF'
local thaw = require "thaw"
local f = assert(io.open(thaw.run_dir() .. "/table.txt", "w"))
f:write("x\n")
f:close()
print("wrote the table")
EOF
run_thaw ./thaw tui "$TMP/w.lua" --out "$TMP/wrun"
see 'wrote the table' 20
see 'script finished' 10
keys q
see 'THAW-EXIT-0' 10
[ -f "$TMP/wrun/table.txt" ] || no "no table in the run folder"
[ -f "$ROOT/table.txt" ] && no "the script wrote into the current directory"
finish "a script session writes into its run folder (--out)"

# ---- an imported ResNet: long dotted layer names stay apart at 120x40 and 80x24
# layer_names: the name cell of every layer row on the screen, one a line
layer_names() { sed -n 's/^│[❄●·] \([^ ]*\) .*/\1/p' "$TMP/screen"; }
# names_apart A B: the layer rows show a name ending in A and one ending in
# B, and no two rows show the same name
names_apart() {
	layer_names >"$TMP/names"
	grep -q -e "$1\$" "$TMP/names" && grep -q -e "$2\$" "$TMP/names" && [ -z "$(sort "$TMP/names" | uniq -d)" ]
}
./thaw data synth:60 --classes 0,1,2 --channels 3 --size 32 --export "$TMP/rgb" >/dev/null 2>&1 ||
	no "thaw data could not export the RGB folder"
tmux_start
run_thaw ./thaw tui --model tests/fixtures/onnx/resnet_tiny/model.onnx --data "$TMP/rgb"
see 'untrained head on' 30
wait_until 5 names_apart 'layer2\.0\.downsample\.0' 'layer2\.0\.downsample\.1' ||
	no "120x40: the downsample layers are not both shown whole: $(layer_names | tr '\n' ' ')"
names_apart 'layer1\.0\.conv1' 'layer2\.0\.conv1' || no "120x40: layer1.0.conv1 and layer2.0.conv1 not told apart"
finish "120x40: an imported ResNet's layer names are whole"

tmx resize-window -t w -x 80 -y 24
wait_until 5 laid_out 80 24 || no "not laid out at 80x24"
keys 1 g
# cut in the middle, the ends that tell them apart kept
wait_until 5 names_apart '1\.0\.conv1' '1\.0\.conv2' ||
	no "80x24: layer1.0.conv1 and layer1.0.conv2 not told apart: $(layer_names | tr '\n' ' ')"
keys G
wait_until 5 names_apart '2\.0\.relu' '2\.0\.relu_1' ||
	no "80x24: layer2.0.relu and layer2.0.relu_1 not told apart: $(layer_names | tr '\n' ' ')"
grep -q 'layer2\.0\.relu_1 *relu' "$TMP/screen" && no "80x24: a 15-character name was not shortened"
keys q
see 'THAW-EXIT-0' 10
finish "80x24: long layer names cut in the middle, their ends kept apart"

report
