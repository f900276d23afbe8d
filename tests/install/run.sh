#!/bin/sh
# Runs from anywhere, installed or not: thaw run on the shipped examples from
# another working directory, require of thaw's library and of a script's
# sibling module, thaw.asset (found and missing), the normalisation presets,
# then make install / uninstall (PREFIX and DESTDIR) and the installed binary
# on an installed example, the man page, a moved install. Last line:
# `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
suite_init install
T=$SUITE_TMP
unset THAW_SHARE_DIR LUA_PATH LUA_PATH_5_4
export NO_COLOR=1
mkdir -p "$T/elsewhere"
# every expect runs its command in $T/elsewhere (thaw must not depend on
# the working directory), and its PATTERN is a fixed string (paths)
elsewhere() { (cd "$T/elsewhere" && "$@"); }
EXPECT_WRAP=elsewhere EXPECT_FIXED=1

# ---- the build tree, from another directory
expect "build tree: an example by absolute path from another directory" 0 "check passed" -- \
	"$ROOT/thaw" run "$ROOT/lua/examples/quick.lua" --out "$T/q1"
said "  it requires thaw.table and loads the base through thaw.asset" "base $ROOT/assets/fashion-base.thaw"
[ -f "$T/q1/metrics.jsonl" ] && ok "  its run folder is where --out said" || bad "  run folder" "no $T/q1/metrics.jsonl"

mkdir -p "$T/proj/sub" "$T/lp"
cat >"$T/proj/helper.lua" <<'EOF'
return {answer = 42}
EOF
cat >"$T/proj/sub/init.lua" <<'EOF'
return "package sub"
EOF
cat >"$T/lp/extra.lua" <<'EOF'
return "from LUA_PATH"
EOF
cat >"$T/proj/exp.lua" <<'EOF'
local thaw = require "thaw"
local tbl = require "thaw.table"
local helper = require "helper"
print("helper " .. helper.answer .. ", " .. require "sub")
if os.getenv("LUA_PATH") then print(require "extra") end
local t = tbl.new{"a", "b"}
t:row{1, 2}
print(t)
thaw.check(type(tbl.pct) == "function", "thaw.table loaded")
EOF
expect "a script requires its sibling modules (and init.lua packages)" 0 "helper 42, package sub" -- \
	"$ROOT/thaw" run "$T/proj/exp.lua" --out "$T/p1"
expect "relative script path from another directory" 0 "helper 42" -- \
	"$ROOT/thaw" run ../proj/exp.lua --out "$T/p2"
expect "the user's LUA_PATH entries are kept" 0 "from LUA_PATH" -- \
	env LUA_PATH="$T/lp/?.lua;;" "$ROOT/thaw" run "$T/proj/exp.lua" --out "$T/p3"

cat >"$T/asset.lua" <<'EOF'
local thaw = require "thaw"
print("asset " .. thaw.asset("fashion-base.thaw"))
local ok, err = pcall(thaw.asset, "nope")
print("missing: " .. tostring(ok) .. " " .. err)
thaw.check(not ok, "thaw.asset raises on a missing asset")
EOF
expect "thaw.asset finds the base beside the binary" 0 "asset $ROOT/assets/fashion-base.thaw" -- \
	"$ROOT/thaw" run "$T/asset.lua" --out "$T/a1"
said "thaw.asset('nope') raises, naming the build tree's place" "missing: false asset 'nope' not found; looked in $ROOT/assets/nope"
said "  ... and the installed place" "$(dirname "$ROOT")/share/thaw/assets/nope"
mkdir -p "$T/share/assets"
: >"$T/share/assets/nope"
cat >"$T/nope.lua" <<'EOF'
print("found " .. require("thaw").asset("nope"))
EOF
expect "THAW_SHARE_DIR is searched first" 0 "found $T/share/assets/nope" -- \
	env THAW_SHARE_DIR="$T/share" "$ROOT/thaw" run "$T/nope.lua" --out "$T/a2"
expect "a script that needs a missing asset fails, saying where thaw looked" 1 "asset 'nope' not found; looked in" -- \
	"$ROOT/thaw" run "$T/nope.lua" --out "$T/a4"

# ---- the photos example: a JPEG folder of another shape, an imported
# torchvision-style ResNet (the resnet_tiny fixture), from another directory
"$ROOT/thaw" data synth:120 --classes 0,1,2 --channels 3 --size 40x56 --export "$T/photos" --format jpeg \
	>/dev/null 2>&1
printf 'taken in May\n' >"$T/photos/notes.txt"
one=$(find "$T/photos" -name '*.jpg' | sort | head -n 1)
cp "$one" "$T/elsewhere/ONE.JPG"
expect "photos.lua: import, preset, transfer, cached head, fine-tune, predict, export" 0 "check passed" -- \
	env HEAD_EPOCHS=3 TUNE_EPOCHS=1 "$ROOT/thaw" run "$ROOT/lua/examples/photos.lua" --out "$T/ph" -- \
	"$T/photos" "$ROOT/tests/fixtures/onnx/resnet_tiny/model.onnx" ONE.JPG
said "  the stray file is reported" "skipped 1 file outside the class folders (notes.txt)"
said "  photos are cropped to the model's 32x32" "to 32x32 (crop)"
said "  the old head is cut" "(old head"
said "  a new head for the folder's classes" "for classes 00-bar-0deg, 01-pair-0deg, 02-bar-36deg"
said "  the head trains on cached features" "feature cache: nodes up to"
said "  then everything is fine-tuned" "fine-tune epoch 1/1"
said "  the given photo is predicted by name" "ONE.JPG: 0"
said "  both formats are written" "photos.thaw and $T/ph/photos.onnx"
expect "  the saved model carries the names and ImageNet's preprocessing" 0 \
	"mean 0.485 0.456 0.406, std 0.229 0.224 0.225, resize crop" -- "$ROOT/thaw" summary "$T/ph/photos.thaw"
said "  and the names" "classes (3): 00-bar-0deg, 01-pair-0deg, 02-bar-36deg"
expect "  thaw predict with the saved model" 0 "ONE.JPG  0" -- "$ROOT/thaw" predict "$T/ph/photos.thaw" ONE.JPG
expect "  thaw eval on the folder" 0 "per-class accuracy" -- "$ROOT/thaw" eval "$T/ph/photos.thaw" --data "$T/photos"

# ---- normalisation presets
cat >"$T/preset.lua" <<'EOF'
local thaw = require "thaw"
local function f(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = string.format("%.3f", v) end
  return table.concat(s, " ")
end
local m = thaw.model{input = {3, 16, 16}}
print("resize " .. m.resize)
m:normalize("imagenet")
print("mean " .. f(m.mean))
print("imagenet resize " .. m.resize)
m:set_resize("pad")
print("set resize " .. m.resize)
print("bad resize: " .. select(2, pcall(m.set_resize, m, "squash")))
print("std " .. f(m.std))
print("input " .. table.concat(m.input, "x"))
m:normalize("unit")
print("unit " .. f(m.mean) .. " / " .. f(m.std))
m:normalize{mean = {0.1, 0.2, 0.3}}            -- the table form still works
print("table " .. f(m.mean))
local gray = thaw.reference_cnn{}
print("gray: " .. select(2, pcall(gray.normalize, gray, "imagenet")))
print("bogus: " .. select(2, pcall(m.normalize, m, "bogus")))
m:add(thaw.nn.flatten{})
m:add(thaw.nn.dense{units = 2})
m:normalize("unit")
m:save(arg[1])
EOF
expect "m:normalize('imagenet') sets the mean" 0 "mean 0.485 0.456 0.406" -- \
	"$ROOT/thaw" run "$T/preset.lua" --out "$T/n1" -- "$T/rgb.thaw"
said "  and the std" "std 0.229 0.224 0.225"
said "a new model stretches" "resize stretch"
said "  the imagenet preset crops, as ImageNet evaluation does" "imagenet resize crop"
said "  m:set_resize sets the policy" "set resize pad"
said "  a bad policy raises" "expected stretch, crop or pad"
said "  and keeps the input size" "input 3x16x16"
said "m:normalize('unit')" "unit 0.000 0.000 0.000 / 1.000 1.000 1.000"
said "m:normalize{mean = ...} still works" "table 0.100 0.200 0.300"
said "an RGB preset on a gray model raises" "normalisation preset 'imagenet' is for 3-channel input; the model takes 1"
said "an unknown preset lists the known ones" "'bogus' unknown (known: imagenet, inception, unit, none)"
expect "thaw edit --normalize imagenet" 0 "saved $T/rgb2.thaw" -- \
	"$ROOT/thaw" edit "$T/rgb.thaw" -o "$T/rgb2.thaw" --normalize imagenet
expect "  the saved model carries it" 0 "mean 0.485 0.456 0.406, std 0.229 0.224 0.225, resize crop" -- \
	"$ROOT/thaw" summary "$T/rgb2.thaw"
expect "thaw edit --resize pad" 0 "saved $T/rgb3.thaw" -- \
	"$ROOT/thaw" edit "$T/rgb2.thaw" -o "$T/rgb3.thaw" --resize pad
expect "  the saved model carries it" 0 "std 0.229 0.224 0.225, resize pad" -- "$ROOT/thaw" summary "$T/rgb3.thaw"
expect "thaw edit --resize with a bad mode" 1 "expected stretch, crop or pad" -- \
	"$ROOT/thaw" edit "$T/rgb2.thaw" -o "$T/rgb4.thaw" --resize squash
expect "thaw edit --normalize on a gray model fails, saying why" 1 "is for 3-channel input; the model takes 1" -- \
	"$ROOT/thaw" edit "$ROOT/assets/fashion-base.thaw" -o "$T/x.thaw" --normalize imagenet

# ---- make install, the installed binary, the man page
P=$T/prefix
if make -s install PREFIX="$P" >"$T/make.out" 2>&1; then ok "make install PREFIX=..."; else
	bad "make install" "$(tail -n 3 "$T/make.out" | tr '\n' ' ')"; fi
for f in bin/thaw share/thaw/lua/thaw/table.lua share/thaw/lua/examples/quick.lua \
	share/thaw/lua/examples/transfer.lua share/thaw/assets/fashion-base.thaw \
	share/doc/thaw/lua.md share/doc/thaw/README.md share/man/man1/thaw.1; do
	[ -f "$P/$f" ] || bad "installed $f" "missing"
done
[ -x "$P/bin/thaw" ] && ok "  binary, library, examples, assets, docs, man page installed" || bad "installed binary" "not executable"
expect "installed binary on an installed example, from another directory" 0 "check passed" -- \
	"$P/bin/thaw" run "$P/share/thaw/lua/examples/quick.lua" --out "$T/q2"
said "  it uses the installed base" "base $P/share/thaw/assets/fashion-base.thaw"
expect "thaw.asset finds the installed asset" 0 "asset $P/share/thaw/assets/fashion-base.thaw" -- \
	"$P/bin/thaw" run "$T/asset.lua" --out "$T/a3"
said "  a missing one names the installed place" "looked in $P/bin/assets/nope, $P/share/thaw/assets/nope"

M=$P/share/man/man1/thaw.1
if command -v man >/dev/null 2>&1; then
	MANWIDTH=100 man -l "$M" >"$T/man.txt" 2>"$T/man.err"
	[ -s "$T/man.txt" ] && ! grep -q . "$T/man.err" && ok "man -l renders thaw.1 without warnings" ||
		bad "man -l" "$(head -n 3 "$T/man.err" | tr '\n' ' ')"
else
	sed 's/\\-/-/g' "$M" >"$T/man.txt"
	ok "man -l (no man here: reading the source)"
fi
missing=
for s in NAME SYNOPSIS DESCRIPTION COMMANDS FILES ENVIRONMENT "EXIT STATUS" EXAMPLES; do
	grep -q "^$s" "$T/man.txt" || grep -q "^\.SH \"*$s" "$M" || missing="$missing $s"
done
[ -z "$missing" ] && ok "thaw.1 has every section" || bad "thaw.1 sections" "missing$missing"
missing=
for c in $("$ROOT/thaw" --help | awk '/^  [a-z]/ {print $1}') predict eval; do
	sed 's/\\-/-/g' "$M" | grep -q "^\.B thaw $c\b" || missing="$missing $c" # fine\-tune is fine-tune
done
[ -z "$missing" ] && ok "thaw.1 documents every command of thaw --help (and predict, eval)" ||
	bad "thaw.1 commands" "missing$missing"
# thaw.1 against --help, so the two cannot drift: every long option a
# command's --help prints is in that command's entry (an entry starts at a
# .TP line followed by ".B thaw COMMAND" and runs to the next one or .SH)
missing=
for c in $("$ROOT/thaw" --help | awk '/^  [a-z]/ {print $1}'); do
	awk -v c="$c" '/^\.SH/ { on = 0 } prev == ".TP" && /^\.B thaw [a-z]/ { n = $3; gsub(/\\-/, "-", n); on = (n == c) } on; { prev = $0 }' \
		"$M" >"$T/entry"
	[ -s "$T/entry" ] || missing="$missing $c:(no entry)"
	for o in $("$ROOT/thaw" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		[ "$o" = --help ] && continue
		grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$T/entry" || missing="$missing $c:$o"
	done
done
[ -z "$missing" ] && ok "thaw.1 documents every long option of every thaw COMMAND --help" ||
	bad "thaw.1 options" "missing$missing"
for o in '\-\-help' '\-\-version' '.SH WORKBENCH KEYS' '.SH OPTIONS'; do
	grep -qF -- "$o" "$M" || missing="$missing $o"
done
[ -z "$missing" ] && ok "thaw.1 has --help, --version, the options' syntax and the workbench's keys" ||
	bad "thaw.1" "missing$missing"

# a whole install tree moved elsewhere still finds its files
mv "$P" "$T/moved"
expect "a moved install finds its library and assets" 0 "base $T/moved/share/thaw/assets/fashion-base.thaw" -- \
	"$T/moved/bin/thaw" run "$T/moved/share/thaw/lua/examples/quick.lua" --out "$T/q3"
mv "$T/moved" "$P"

if make -s uninstall PREFIX="$P" >"$T/make.out" 2>&1 && [ -z "$(find "$P" -type f)" ]; then
	ok "make uninstall removes every installed file"
else
	bad "make uninstall" "left: $(find "$P" -type f | head -n 3 | tr '\n' ' ')"
fi

D=$T/dest
if make -s install DESTDIR="$D" PREFIX=/usr >"$T/make.out" 2>&1 && [ -x "$D/usr/bin/thaw" ] &&
	[ -f "$D/usr/share/man/man1/thaw.1" ] && [ -f "$D/usr/share/thaw/lua/thaw/table.lua" ]; then
	ok "make install honours DESTDIR"
else
	bad "make install DESTDIR" "$(tail -n 3 "$T/make.out" | tr '\n' ' ')"
fi
if make -s uninstall DESTDIR="$D" PREFIX=/usr >"$T/make.out" 2>&1 && [ -z "$(find "$D" -type f)" ]; then
	ok "make uninstall honours DESTDIR"
else
	bad "make uninstall DESTDIR" "left: $(find "$D" -type f | head -n 3 | tr '\n' ' ')"
fi

# ---- configure's portable modes (run in a copy: config.mk stays as it is)
mkdir -p "$T/cfg" && cp configure "$T/cfg/"
EXPECT_WRAP="" EXPECT_FIXED=1
expect "configure --portable: no -march" 0 "portable: no -march=native" -- sh -c "cd '$T/cfg' && ./configure --portable"
grep -qx 'MARCH = -mtune=generic' "$T/cfg/config.mk" && ok "  config.mk says MARCH = -mtune=generic" ||
	bad "  --portable" "$(grep MARCH "$T/cfg/config.mk")"
expect "configure --portable=x86-64-v3" 0 "-march=x86-64-v3" -- sh -c "cd '$T/cfg' && ./configure --portable=x86-64-v3"
grep -qx 'MARCH = -march=x86-64-v3 -mtune=generic' "$T/cfg/config.mk" && ok "  config.mk has the level" ||
	bad "  --portable=x86-64-v3" "$(grep MARCH "$T/cfg/config.mk")"
expect "configure --portable=LEVEL the compiler does not know: refused" 1 "does not know -march=x86-64-v9" -- \
	sh -c "cd '$T/cfg' && ./configure --portable=x86-64-v9"

report
