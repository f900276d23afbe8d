#!/bin/sh
# Text end to end: the headless Lua experiment tests/script/text.lua (text
# data, word vectors, a frozen embedding beating random vectors, save and
# load), then the CLI on what it left in its run folder: thaw data on a
# TSV and a class folder of .txt files, thaw predict --text, thaw eval on
# text, and the errors users see. Each case prints `ok NAME` or
# `FAIL NAME: reason`; the last line is `N passed, N failed`.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
build_thaw
suite_init text
TMP=$SUITE_TMP
private_thaw
export NO_COLOR=1

RUN=$TMP/run
case_lua() {
	"$THAW" run tests/script/text.lua --out "$RUN" >"$TMP/lua.out" 2>"$TMP/lua.err"
	rc=$?
	[ $rc = 0 ] || { no "thaw run exit $rc: $(grep -E 'FAILED|error' "$TMP/lua.err" | head -3 | tr '\n' ' ')"; return; }
	has "$TMP/lua.err" 'check passed: pretrained beats random' || no "no comparison of pretrained and random vectors"
	has "$TMP/lua.err" "feature cache: nodes up to 'pool'" || no "the frozen embedding + pool prefix was not cached"
	[ -s "$RUN/text.thaw" ] || no "no text.thaw in the run folder"
}

case_data_tsv() {
	"$THAW" data "$RUN/test.tsv" --show 2 >"$TMP/d.out" 2>"$TMP/d.err" || { no "thaw data failed: $(cat "$TMP/d.err")"; return; }
	has "$TMP/d.out" '^texts    200' || no "no text count"
	has "$TMP/d.out" '^    2  topic2  *50' || no "no class counts"
	has "$TMP/d.out" '^vocab    [0-9]* words' || no "no vocabulary size"
	has "$TMP/d.out" '^tokens   min 12, median 12' || no "no length statistics"
	has "$TMP/d.out" '^    1  topic0       [a-z0-9]* [a-z0-9]' || no "--show does not print the first text"
	"$THAW" data "$RUN/test.tsv" --length 5 --max-words 10 >"$TMP/d2.out" 2>&1 || { no "--length/--max-words failed"; return; }
	has "$TMP/d2.out" '^length   5 tokens a text: 200 longer cut' || no "--length 5 does not cut"
	has "$TMP/d2.out" '^vocab    10 words' || no "--max-words 10 does not limit"
	"$THAW" data "$RUN/test.tsv" --grid "$TMP/g.png" >/dev/null 2>"$TMP/d3.err" && no "--grid on text succeeded"
	has "$TMP/d3.err" 'is text' || no "--grid on text: no clear message"
}

case_data_folder() {
	mkdir -p "$TMP/tf/pos" "$TMP/tf/neg"
	printf 'Great, lovely film!' >"$TMP/tf/pos/a.txt"
	printf 'Très bien: ÉTÉ' >"$TMP/tf/pos/b.txt"
	printf 'Awful film.' >"$TMP/tf/neg/a.txt"
	printf 'not text' >"$TMP/tf/neg/c.md"
	"$THAW" data "$TMP/tf" --show 3 >"$TMP/f.out" 2>"$TMP/f.err" || { no "thaw data on a text folder failed: $(cat "$TMP/f.err")"; return; }
	has "$TMP/f.out" '^texts    3' || no "not 3 texts"
	has "$TMP/f.out" 'très bien été' || no "UTF-8 words are not lower-cased words"
	has "$TMP/f.err" 'skipped 1 file that is not .txt (neg/c.md)' || no "the stray file is not noted"
	printf 'x\tok\nno tab\n' >"$TMP/bad.tsv"
	"$THAW" data "$TMP/bad.tsv" >/dev/null 2>"$TMP/b.err" && no "a bad TSV loaded"
	has "$TMP/b.err" 'bad.tsv:2: no tab between label and text' || no "bad TSV: no file:line message"
}

case_predict_text() {
	"$THAW" predict "$RUN/text.thaw" --text "T2W1 t2w5, T2W7 fill3" --top 2 >"$TMP/p.out" 2>"$TMP/p.err" ||
		{ no "predict --text failed: $(cat "$TMP/p.err")"; return; }
	has "$TMP/p.out" '^T2W1 t2w5, T2W7 fill3  topic2 ' || no "the string is not classified topic2: $(cat "$TMP/p.out")"
	"$THAW" predict "$RUN/text.thaw" --text "t0w1 t0w2" --json >"$TMP/pj.out" 2>&1 || no "predict --text --json failed"
	has "$TMP/pj.out" '"tokens": 2, "top": \[{"class": 0, "name": "topic0"' || no "json: $(cat "$TMP/pj.out")"
	"$THAW" predict assets/fashion-base.thaw --text "hello" >/dev/null 2>"$TMP/pi.err" && no "an image model took --text"
	has "$TMP/pi.err" 'no vocabulary' || no "image model and --text: no clear message"
}

case_eval_text() {
	"$THAW" eval "$RUN/text.thaw" --data "$RUN/test.tsv" >"$TMP/e.out" 2>"$TMP/e.err" || { no "eval failed: $(cat "$TMP/e.err")"; return; }
	has "$TMP/e.out" ': 200 texts' || no "eval does not count texts"
	has "$TMP/e.out" '^accuracy 0\.[89]' || no "eval accuracy below 0.8: $(grep accuracy "$TMP/e.out" | head -1)"
	"$THAW" summary "$RUN/text.thaw" >"$TMP/s.out" 2>&1 || { no "thaw summary failed"; return; }
	has "$TMP/s.out" 'emb  *embedding  *[0-9]* words x 16' || no "summary: no embedding line"
	has "$TMP/s.out" '^input spec: text, 12 tokens a sample; vocabulary [0-9]* words, lower-cased' || no "summary: no vocabulary"
}

# thaw train on text: the default text classifier, then a saved text model
# given a new head for two of the classes
case_train_text() {
	"$THAW" train --data "$RUN/test.tsv" --epochs 15 --lr 0.05 -o "$TMP/tt.thaw" >"$TMP/t.out" 2>"$TMP/t.err" ||
		{ no "thaw train on text failed: $(tail -n 2 "$TMP/t.err")"; return; }
	has "$TMP/t.err" 'text classifier: embedding' || no "no note of the text classifier"
	has "$TMP/t.out" '^val_accuracy: 0\.[6-9]\|^val_accuracy: 1' || no "validation accuracy below 0.6: $(cat "$TMP/t.out")"
	"$THAW" train --model "$TMP/tt.thaw" --data "$RUN/test.tsv" --classes topic0,topic1 --epochs 2 -o "$TMP/tt2.thaw" \
		>/dev/null 2>"$TMP/t2.err" || { no "retraining a text model failed: $(tail -n 2 "$TMP/t2.err")"; return; }
	"$THAW" predict "$TMP/tt2.thaw" --text "t1w3 t1w4" >"$TMP/t2.out" 2>&1 || no "predict on the retrained model failed"
	has "$TMP/t2.out" 'topic1 0\.[0-9]* topic0' || no "the two-class head: $(cat "$TMP/t2.out")"
}

# the workbench on a text model and text data: it starts (no pixels to
# draw), the data is encoded with the model's vocabulary (its guesses are
# mostly right), q quits cleanly
case_tui_text() {
	command -v tmux >/dev/null || { skipped="no tmux"; return; }
	tmux_start "'$THAW' tui --model '$RUN/text.thaw' --data '$RUN/test.tsv'; echo \$? >'$TMP/tui.rc'; sleep 60"
	wait_for 'ok [0-9]*%' 20
	right=$(grep -o 'ok [0-9]*%' "$TMP/screen" | wc -l)
	wrong=$(grep -o '→topic[0-9] [0-9]*%' "$TMP/screen" | wc -l)
	keys q
	i=0
	while [ ! -s "$TMP/tui.rc" ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
	tmx kill-server 2>/dev/null
	[ "$(cat "$TMP/tui.rc" 2>/dev/null)" = 0 ] || { no "thaw tui exit $(cat "$TMP/tui.rc" 2>/dev/null)"; return; }
	[ "$right" -gt $((2 * wrong)) ] || no "the data pane's guesses: $right right, $wrong wrong (vocabulary not the model's?)"
}

# the exported ONNX graphs of text models, evaluated op by op with numpy
# (needs Debian's python3-onnx, a bench package: skipped without it)
case_onnx_numpy() {
	py=/usr/bin/python3
	if ! [ -x $py ] || ! $py -c 'import onnx, numpy' 2>/dev/null; then
		skipped="python3-onnx not installed"
		return
	fi
	make -s build/test/test_text_layers >/dev/null || { no "build test_text_layers"; return; }
	mkdir -p "$TMP/onnx"
	THAW_KEEP_ONNX="$TMP/onnx" build/test/test_text_layers >"$TMP/onnx.out" || { no "test_text_layers failed"; return; }
	$py tests/text/onnx_eval.py "$TMP/onnx" "$TMP/onnx.out" >"$TMP/onnx.eval" 2>&1 ||
		no "numpy disagrees with thaw: $(tail -n 3 "$TMP/onnx.eval" | tr '\n' ' ')"
	[ "$(grep -c 'max difference' "$TMP/onnx.eval")" = 4 ] || no "not 4 graphs compared"
}

for c in lua data_tsv data_folder predict_text eval_text train_text tui_text onnx_numpy; do
	run_case $c
done
report
