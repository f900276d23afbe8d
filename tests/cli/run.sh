#!/bin/sh
# The command line, end to end: thaw train, data, summary, edit, import and
# export on real files, and their errors on bad ones. Last line:
# `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
# expect NAME EXIT_CODE PATTERN -- command...: exit code and a pattern in stdout+stderr
expect() {
	name=$1 code=$2 pat=$3
	shift 4
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		bad "$name" "exit $rc, wanted $code: $(tail -n 3 "$T/out")"
	elif ! grep -q -- "$pat" "$T/out"; then
		bad "$name" "no '$pat' in: $(tail -n 3 "$T/out")"
	else
		ok "$name"
	fi
}

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
	sig=$(od -An -tx1 -N8 "$T/g.png" | tr -d ' \n')
	[ "$sig" = "89504e470d0a1a0a" ] && ok "grid is a PNG" || bad "grid is a PNG" "signature $sig"
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
expect "train: bad --resize" 1 "--resize takes stretch, crop or pad" -- \
	./thaw train --data "$T/jpg" --resize squash
expect "data: bad --resize" 1 "expected stretch, crop or pad" -- ./thaw data "$T/jpg" --resize squash
expect "data: bad --format" 1 "expected png or jpeg" -- ./thaw data synth:10 --export "$T/x" --format gif
expect "unknown command" 1 "unknown command" -- ./thaw frobnicate

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
