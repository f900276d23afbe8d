#!/bin/sh
# The command line, end to end: thaw train, data, summary, edit, import and
# export on real files, and their errors on bad ones. Last line:
# `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
suite_init cli
T=$SUITE_TMP

expect "train on synthetic data, save" 0 "saved $T/m.thaw" -- \
	./thaw train --data synth:600 --epochs 2 --batch 32 -o "$T/m.thaw"
expect "summary of the saved model" 0 "total params: 421834" -- ./thaw summary "$T/m.thaw"
expect "edit: new head, frozen base, lr multipliers" 0 "trainable: 387" -- \
	./thaw edit "$T/m.thaw" -o "$T/e.thaw" --pop --head 3:head --freeze upto:fc1 \
	--lr-mult 'conv*=0.1' --classes a,b,c
expect "edited model keeps its flags" 0 "lr x0.1" -- ./thaw summary "$T/e.thaw"
expect "edited model keeps class names" 0 "classes (3): a, b, c" -- ./thaw summary "$T/e.thaw"
expect "export to ONNX" 0 "-> $T/e.onnx" -- ./thaw export "$T/e.thaw" -o "$T/e.onnx"
expect "import it back" 0 "-> $T/back.thaw" -- ./thaw import "$T/e.onnx" -o "$T/back.thaw"
expect "re-imported graph" 0 "head .*dense .*128->3" -- ./thaw summary "$T/back.thaw"
expect "train starts from an ONNX model (its frozen flags kept)" 0 "387 trainable and 420544 frozen" -- \
	./thaw train --model "$T/e.onnx" --data synth:300 --classes 0,1,2 --epochs 1 --batch 32
expect "frozen base trains the head only" 0 "test_accuracy\|loss" -- \
	./thaw train --model "$T/e.thaw" --data synth:300 --classes 0,1,2 --epochs 1 --batch 32
expect "edit: unknown node" 1 "no node named 'nope'" -- \
	./thaw edit "$T/m.thaw" -o "$T/x.thaw" --truncate nope
expect "edit: bad lr multiplier" 1 "SEL=X" -- ./thaw edit "$T/m.thaw" -o "$T/x.thaw" --lr-mult conv1
[ ! -e "$T/x.thaw" ] && ok "a failed edit writes nothing" || bad "a failed edit writes nothing" "x.thaw exists"

head -c 3000 "$T/m.thaw" >"$T/cut.thaw"
expect "truncated model file" 1 "cut.thaw" -- ./thaw summary "$T/cut.thaw"
expect "missing model file" 1 "nope.thaw" -- ./thaw summary "$T/nope.thaw"
cp "$T/m.thaw" "$T/old.thaw"
expect "a failed save keeps the old file" 1 "" -- \
	./thaw edit "$T/m.thaw" -o "$T/no/such/dir/m.thaw" --pop
expect "the old file still loads" 0 "total params" -- ./thaw summary "$T/old.thaw"

if [ -d /usr/share/datasets/fashion-mnist ]; then
	expect "data: Fashion-MNIST summary" 0 "60000" -- ./thaw data fashion-mnist
	expect "data: classes, k per class, grid" 0 "grid" -- \
		./thaw data fashion-mnist:test --classes 5,6,7 --per-class 4 --grid "$T/g.png"
	is_png "$T/g.png" && ok "grid is a PNG" || bad "grid is a PNG" "no PNG signature"
	expect "data: export a PNG class folder" 0 "exported 40 PNG images" -- \
		./thaw data fashion-mnist:test --classes 5,9 --per-class 20 --size 32 --channels 3 --export "$T/png"
	expect "data: the exported folder loads, resized and in colour" 0 "shape    3x32x32" -- ./thaw data "$T/png"
	expect "data: its classes keep their order" 0 "1  01-Ankle boot" -- ./thaw data "$T/png"
	# the transfer recipe: a folder meets a model trained on other classes
	expect "data: a 3-class folder for transfer" 0 "exported 60 PNG images" -- \
		./thaw data fashion-mnist:test --classes 5,6,7 --per-class 20 --export "$T/f"
	expect "train on a folder: the old head is cut" 0 "cut after drop1 (old head fc2: 5 classes)" -- \
		./thaw train --model assets/fashion-base.thaw --data "$T/f" --epochs 1 -o "$T/x.thaw"
	for pat in "new head 'head': dense 128->3 for classes 00-Sandal, 01-Shirt, 02-Sneaker" \
		"froze the 12 layers before the head (420,544 params)" \
		"held out a stratified 20 % (12 images) for validation; 48 images train" "val_accuracy: "; do
		grep -qF -- "$pat" "$T/out" && ok "train on a folder says: $pat" || bad "train on a folder" "no '$pat'"
	done
	expect "the saved model carries the folder's classes" 0 "classes (3): 00-Sandal, 01-Shirt, 02-Sneaker" -- \
		./thaw summary "$T/x.thaw"
	expect "the saved model's base is frozen" 0 "trainable: 387  frozen: 420544" -- ./thaw summary "$T/x.thaw"
	expect "sandals are saved as Sandal" 0 "saved $T/s.thaw" -- \
		./thaw train --model assets/fashion-base.thaw --data fashion-mnist:test --classes 5,6,7,8,9 \
		--per-class 20 --epochs 1 -o "$T/s.thaw"
	expect "... with the data's class names" 0 "classes (5): Sandal, Shirt, Sneaker, Bag, Ankle boot" -- \
		./thaw summary "$T/s.thaw"
	expect "train: classes by name, a cut node, a validation fraction, the test split" 0 "test_accuracy" -- \
		./thaw train --model assets/fashion-base.thaw --data fashion-mnist --classes Sandal,Bag \
		--per-class 10 --val 0.5 --cut fc1 --epochs 1
	grep -q "cut after fc1 (dropped 3 layers" "$T/out" && grep -q "held out a stratified 50 % (10 images)" "$T/out" &&
		ok "... each step said" || bad "... each step said" "$(head -n 8 "$T/out")"
	expect "train: the same classes keep the head" 0 "the data's classes are the model's" -- \
		./thaw train --model "$T/x.thaw" --data "$T/f" --epochs 1 --val none
	expect "train: an unknown class name" 1 "'Sandle' is not a class of" -- \
		./thaw train --model assets/fashion-base.thaw --data "$T/f" --classes Sandle
fi
# ---- class names follow the head
expect "edit --pop --head drops the old names and says so" 0 "class names were dropped" -- \
	./thaw edit "$T/m.thaw" -o "$T/h5.thaw" --pop --head 5
expect "the new head has no names" 0 "classes: none" -- ./thaw summary "$T/h5.thaw"
expect "edit --classes with the wrong count" 1 "2 names for a model with 5 outputs" -- \
	./thaw edit "$T/m.thaw" -o "$T/x.thaw" --pop --head 5 --classes a,b
expect "edit --truncate leaves no class-score vector: eval refuses" 1 "model output is 64x7x7, not a vector of class scores: add a head" -- \
	sh -c "./thaw edit '$T/m.thaw' -o '$T/cut.thaw' --truncate pool2 >/dev/null && ./thaw eval '$T/cut.thaw' --data synth:100"
expect "  predict refuses it too" 1 "not a vector of class scores" -- ./thaw predict "$T/cut.thaw" "$T/nothing.png"
expect "train puts a head on a headless base" 0 "the model has no head (its output is 64x7x7): the new one goes on top" -- \
	./thaw train --model "$T/cut.thaw" --data synth:100 --epochs 1 -o "$T/cuth.thaw"
expect "  with the data's names" 0 "classes (10): bar-0deg" -- ./thaw summary "$T/cuth.thaw"
expect "train records the data's names on a new head" 0 "have no names: they take the data's" -- \
	./thaw train --model "$T/h5.thaw" --data synth:300 --classes 0,1,2,3,4 --epochs 1 --batch 32 -o "$T/h5t.thaw"
expect "the trained head has the data's names" 0 "classes (5): bar-0deg, pair-0deg, bar-36deg" -- ./thaw summary "$T/h5t.thaw"

# ---- thaw predict and thaw eval on the model trained above and exported data
expect "data: export synthetic images" 0 "exported 60 PNG images" -- ./thaw data synth:60 --export "$T/syn"
one=$(find "$T/syn" -name '*.png' | sort | head -n 1)
expect "predict: one image, top 2 as text" 0 "^$one  [a-z0-9-]* [01]\.[0-9][0-9] [a-z0-9-]* [01]\.[0-9][0-9]$" -- \
	./thaw predict "$T/m.thaw" "$one" --top 2
expect "predict: --json lines with top K" 0 '^{"file": ".*\.png", "top": \[{"class": [0-9], "name": "[a-z0-9-]*", "p": [01]\.[0-9]*}, {.*}, {.*}\]}$' -- \
	./thaw predict "$T/m.thaw" "$one" --json --top 3
./thaw predict "$T/m.thaw" "$T/syn" >"$T/pred.txt" 2>&1
[ "$(wc -l <"$T/pred.txt")" -eq 60 ] && [ "$(cut -d' ' -f1 "$T/pred.txt" | sort -c 2>&1)" = "" ] &&
	ok "predict: a folder means every image under it, sorted" ||
	bad "predict: a folder means every image under it, sorted" "$(wc -l <"$T/pred.txt") lines: $(head -n 2 "$T/pred.txt")"
expect "predict: a model without names prints indices" 0 "^$one  [0-9] [01]\.[0-9][0-9]$" -- \
	./thaw predict "$T/h5.thaw" "$one" --top 1
printf 'not a png' >"$T/syn/broken.png"
expect "predict: a bad file is named, the rest still predicted" 1 "broken.png" -- ./thaw predict "$T/m.thaw" "$T/syn"
rm -f "$T/syn/broken.png"
printf 'a note\n' >"$T/syn/notes.txt"
expect "predict: a folder's other files are reported, not skipped silently" 0 \
	"note: $T/syn: skipped 1 file that is not PNG or JPEG (notes.txt)" -- ./thaw predict "$T/m.thaw" "$T/syn"
rm -f "$T/syn/notes.txt"
expect "predict: a cut model is refused" 1 "not a vector of class scores" -- ./thaw predict "$T/cut.thaw" "$one"
expect "eval: loss and accuracy" 0 "^accuracy 0\.[0-9]* ([0-9]*/60)" -- ./thaw eval "$T/m.thaw" --data "$T/syn"
expect "eval: per-class accuracy by name" 0 "^ *3 pair-36deg  *[01]\.[0-9]* ([0-9]/6)" -- ./thaw eval "$T/m.thaw" --data "$T/syn"
expect "eval: the confusion matrix as text" 0 "^confusion (rows: true class" -- \
	./thaw eval "$T/m.thaw" --data "$T/syn" --confusion "$T/cm.png" --batch 7
is_png "$T/cm.png" && ok "eval: --confusion writes a PNG" || bad "eval: --confusion writes a PNG" "no PNG signature"
mkdir -p "$T/two"
cp -r "$T/syn/03-pair-36deg" "$T/syn/07-pair-108deg" "$T/two/"
expect "eval: a 2-class folder is matched to the model's classes by name" 0 "07-pair-108deg->7" -- \
	./thaw eval "$T/m.thaw" --data "$T/two"
expect "eval: classes without images are marked" 0 "^ *0 bar-0deg  *- *(no images)" -- ./thaw eval "$T/m.thaw" --data "$T/two"
mkdir -p "$T/other/a" "$T/other/b"
cp "$one" "$T/other/a/"
cp "$one" "$T/other/b/"
expect "eval: unknown names and another count" 1 "has 2 classes and the model 10 outputs" -- \
	./thaw eval "$T/m.thaw" --data "$T/other"
./thaw data synth:40 --size 20 --channels 3 --export "$T/rgb" >/dev/null 2>&1
expect "eval: data converted to the model's input, the log says how" 0 "note: fitted 40 of 40 images (20x20) to 28x28 (stretch)" -- \
	./thaw eval "$T/m.thaw" --data "$T/rgb"
expect "predict: an RGB image of another size" 0 "^$T/rgb/.*png  [a-z]" -- \
	./thaw predict "$T/m.thaw" "$(find "$T/rgb" -name '*.png' | sort | head -n 1)"
expect "--help lists predict and eval" 0 "thaw eval MODEL --data SPEC" -- ./thaw --help

printf 'P5 not an idx\n' >"$T/bad-idx"
expect "data: corrupt IDX pair" 1 "bad-idx" -- ./thaw data "$T/bad-idx,$T/bad-idx"
# JPEG class folders, made by thaw itself
expect "data: export a JPEG class folder" 0 "exported 60 JPEG images" -- \
	./thaw data synth:60 --channels 3 --size 40x60 --export "$T/jpg" --format jpeg
c0=$(ls -d "$T/jpg"/00-*)
printf 'not an image\n' >"$T/jpg/README.txt"
printf 'bought in May\n' >"$c0/notes.txt"
expect "data: the JPEG folder loads" 0 "shape    3x40x60" -- ./thaw data "$T/jpg"
expect "data: stray files are reported" 0 "note: skipped 1 file that is not PNG or JPEG (00-.*/notes.txt)" -- \
	./thaw data "$T/jpg"
expect "data: loose files too" 0 "note: skipped 1 file outside the class folders (README.txt)" -- \
	./thaw data "$T/jpg"
expect "data: a folder loads cropped to a square" 0 "shape    3x32x32" -- ./thaw data "$T/jpg" --size 32 --resize crop
head -c 300 "$c0/000000.jpg" >"$c0/zz.JPG"
expect "data: a corrupt JPEG is named" 1 "zz.JPG: " -- ./thaw data "$T/jpg"
expect "data: --skip-bad skips it and says so" 0 "skipped unreadable image 00-.*/zz.JPG" -- \
	./thaw data "$T/jpg" --skip-bad
expect "train: a corrupt JPEG in the folder is named" 1 "zz.JPG: " -- \
	./thaw train --model assets/fashion-base.thaw --data "$T/jpg" --epochs 1 --batch 16
expect "train: a JPEG folder at the model's size, stray and bad files reported" 0 \
	"skipped unreadable image 00-.*/zz.JPG" -- \
	./thaw train --model assets/fashion-base.thaw --data "$T/jpg" --skip-bad --resize pad --epochs 1 \
	--batch 16 -o "$T/jpgm.thaw"
grep -q "not PNG or JPEG (00-.*/notes.txt)" "$T/out" && ok "train: stray files reported" ||
	bad "train: stray files reported" "$(head -n 5 "$T/out")"
expect "train: the model took the folder's class names" 0 "classes (" -- ./thaw summary "$T/jpgm.thaw"
expect "train: bad --resize" 1 "--resize: expected stretch, crop or pad" -- \
	./thaw train --data "$T/jpg" --resize squash
expect "data: bad --resize" 1 "expected stretch, crop or pad" -- ./thaw data "$T/jpg" --resize squash
expect "data: bad --format" 1 "expected png or jpeg" -- ./thaw data synth:10 --export "$T/x" --format gif
expect "unknown command" 1 "unknown command" -- ./thaw frobnicate

# Numbers are checked against the options table, and errors name the option.
expect "train: --epochs abc" 1 "thaw train: --epochs: 'abc' is not a whole number" -- ./thaw train --epochs abc
expect "train: --epochs 2.5" 1 "thaw train: --epochs: '2.5' is not a whole number" -- ./thaw train --epochs=2.5
expect "train: --lr -1" 1 "thaw train: --lr: learning rate -1 must be >= 0" -- ./thaw train --lr -1
expect "train: --seed abc" 1 "thaw train: --seed: 'abc'" -- ./thaw train --seed abc
expect "train: --optim rmsprop" 1 "unknown optimizer 'rmsprop'" -- ./thaw train --optim rmsprop
expect "train: --per-class x" 1 "thaw train: --per-class: expected a positive whole number, got 'x'" -- \
	./thaw train --per-class x
expect "train: an unknown option names itself" 1 "unrecognized option '--epoch-count'" -- ./thaw train --epoch-count 3

expect "run: --seed abc" 1 "thaw run: --seed: 'abc' is not a whole number" -- ./thaw run --seed abc x.lua
expect "run: two scripts" 1 "one script at a time" -- ./thaw run a.lua b.lua

# Checkpoint and resume: interrupted part-way (SIGINT), continued with
# --resume alone (the checkpoint recorded the options), the weights are
# those of the uninterrupted run.
./thaw train --data synth:900 --epochs 3 --batch 32 --seed 3 -o "$T/r_a.thaw" >/dev/null 2>&1
./thaw train --data synth:900 --epochs 3 --batch 32 --seed 3 --checkpoint "$T/r_c.thaw" \
	--checkpoint-every 5 -o "$T/r_b.thaw" >/dev/null 2>"$T/r_b.err" &
pid=$!
wait_file "$T/r_b.err" 'train epoch 1/3' $pid
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ "$rc" = 130 ]; then
	grep -q 'continue with: thaw train --resume' "$T/r_b.err" && ok "train: Ctrl-C says how to resume" ||
		bad "train: Ctrl-C says how to resume" "$(tail -n 2 "$T/r_b.err")"
	expect "train: --resume continues" 0 "saved $T/r_b.thaw" -- ./thaw train --resume "$T/r_c.thaw"
else
	ok "train: (finished before the interrupt; resume not exercised)"
fi
cmp -s "$T/r_a.thaw" "$T/r_b.thaw" && ok "train: resumed weights are the uninterrupted run's" ||
	bad "train: resumed weights are the uninterrupted run's" "r_a.thaw and r_b.thaw differ"
expect "train: --resume of a plain model" 1 "holds no training position" -- ./thaw train --resume "$T/m.thaw"

# docs/lua.md's options table is the one the code has
./thaw options --markdown >"$T/options.md"
awk '/^<!-- generated by `thaw options --markdown`/ { on = 1; next } on && /^\|/ { print; next } on { exit }' \
	docs/lua.md >"$T/options.doc"
if cmp -s "$T/options.md" "$T/options.doc"; then ok "docs/lua.md options table matches thaw options --markdown"
else bad "docs/lua.md options table" "differs from thaw options --markdown (regenerate it): $(diff "$T/options.md" "$T/options.doc" | head -n 3 | tr '\n' ' ')"; fi
# ---- the command line as GNU users expect (getopt_long in every command)
expect "--version" 0 "^thaw 0\.[0-9]" -- ./thaw --version
./thaw --help >"$T/h1" 2>&1
./thaw help >"$T/h2" 2>&1
cmp -s "$T/h1" "$T/h2" && ok "thaw help is thaw --help" || bad "thaw help is thaw --help" "outputs differ"
for c in $(./thaw --help | awk '/^  [a-z]/ {print $1}'); do
	expect "thaw $c --help" 0 "^usage: thaw .*$c\|^usage: thaw \[$c\]" -- ./thaw "$c" --help
	./thaw help "$c" >"$T/h2" 2>&1
	cmp -s "$T/out" "$T/h2" && ok "thaw help $c is thaw $c --help" || bad "thaw help $c" "outputs differ"
done
expect "help for an unknown command" 1 "unknown command 'frob'" -- ./thaw help frob
expect "an unknown option names itself" 1 "^thaw data: unrecognized option '--frob'" -- ./thaw data synth:10 --frob
grep -q "^Try 'thaw data --help' for more information\.$" "$T/out" && ok "  and points to --help" ||
	bad "  and points to --help" "$(cat "$T/out")"
expect "an unknown option of predict" 1 "^thaw predict: unrecognized option '--frob=3'" -- \
	./thaw predict "$T/m.thaw" "$one" --frob=3
expect "a missing value" 1 "thaw data: option '--grid' requires an argument" -- ./thaw data synth:10 --grid
expect "a flag with a value" 1 "option '--json' doesn't allow an argument" -- ./thaw predict "$T/m.thaw" "$one" --json=yes
expect "an ambiguous abbreviation" 1 "option '--per' is ambiguous" -- ./thaw data synth:10 --per 3
expect "data --per-class abc" 1 "thaw data: --per-class: expected a positive whole number, got 'abc'" -- \
	./thaw data synth:10 --per-class abc
expect "data --size 0" 1 "thaw data: --size: expected H or HxW (1..4096), got '0'" -- ./thaw data synth:10 --size 0
expect "data --size 8x8junk" 1 "got '8x8junk'" -- ./thaw data synth:10 --size 8x8junk
expect "data --seed -1" 1 "thaw data: --seed: expected a whole number >= 0, got '-1'" -- ./thaw data synth:10 --seed=-1
expect "predict --top 2.5" 1 "thaw predict: --top: expected a whole number from 1 to 1000, got '2.5'" -- \
	./thaw predict "$T/m.thaw" "$one" --top 2.5
expect "eval --batch 0" 1 "thaw eval: --batch: expected a whole number from 1 to 65536, got '0'" -- \
	./thaw eval "$T/m.thaw" --data "$T/syn" --batch 0
expect "bench --seconds abc" 1 "thaw bench: --seconds: expected a number above 0 and at most 3600, got 'abc'" -- \
	./thaw bench --seconds abc
expect "bench --windows 17" 1 "thaw bench: --windows: expected a whole number from 1 to 16, got '17'" -- \
	./thaw bench --windows=17
expect "tui --epochs abc (before it needs a terminal)" 1 "thaw tui: --epochs: expected a whole number" -- \
	./thaw tui --epochs abc
expect "thaw --per-class 0 is the workbench's option" 1 "thaw tui: --per-class: expected a positive whole number, got '0'" -- \
	./thaw --per-class 0
expect "edit --head 2.5" 1 "thaw edit: --head: expected UNITS\[:NAME\] with UNITS from 1 to 1000000, got '2.5'" -- \
	./thaw edit "$T/m.thaw" -o "$T/refused.thaw" --pop --head 2.5
[ ! -e "$T/refused.thaw" ] && ok "  a refused edit writes nothing" || bad "  a refused edit writes nothing" "refused.thaw exists"
expect "--opt=value and options before operands" 0 "^images   6$" -- \
	./thaw data --per-class=2 --classes=0,1,2 --seed=3 synth:60
expect "-oFILE and --output=FILE" 0 "-> $T/o1.onnx" -- ./thaw export -o"$T/o1.onnx" "$T/m.thaw"
expect "  --output=FILE" 0 "-> $T/o2.thaw" -- ./thaw import --output="$T/o2.thaw" "$T/o1.onnx"
expect "edit: operations in order, -oFILE, --opt=value" 0 "saved $T/o3.thaw" -- \
	./thaw edit --pop "$T/m.thaw" --head=4:new -o"$T/o3.thaw" --freeze=upto:fc1
expect "  the edited model" 0 "new .*dense .*128->4" -- ./thaw summary "$T/o3.thaw"
expect "predict: options anywhere" 0 "^$one  [a-z0-9-]* [01]\.[0-9][0-9]$" -- ./thaw predict --top=1 "$T/m.thaw" "$one"
expect "a missing operand points to --help" 1 "Try 'thaw eval --help'" -- ./thaw eval "$T/m.thaw"
expect "tui: a missing script says why" 1 "thaw tui: $T/nope.lua: No such file or directory" -- ./thaw tui "$T/nope.lua"

report
