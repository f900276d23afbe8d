#!/bin/sh
# scripts/make-debian-text on a small fake archive that this test writes
# (never the real one): labels, section prefixes, exclusions, long
# descriptions from Translation-en, dedupe, the per-source cap, the seeded
# split by source package, the corpus, errors naming file and line, and
# that thaw reads what it writes. fastText runs on the fixture when it is
# installed; otherwise that case says it is skipped. Last line:
# `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
suite_init debtext
T=$SUITE_TMP
export LC_ALL=C.UTF-8
S=scripts/make-debian-text

# ---- the fixture: 3 sections of 40 packages each (games, science under
# contrib/, sound under non-free/) from sources of one or two binaries,
# with long descriptions in Translation-en; then the special cases.
L=$T/lists
mkdir -p "$L"
P=$L/deb.example.org_debian_dists_fake_main_binary-amd64_Packages
TR=$L/deb.example.org_debian_dists_fake_main_i18n_Translation-en
: >"$P"
: >"$TR"
# pkg NAME SECTION SHORT LONG [SOURCE]: a Packages stanza (md5 = NAME) and
# its Translation-en stanza
pkg() {
	{
		echo "Package: $1"
		[ -n "${5:-}" ] && echo "Source: $5 (1.0-1)"
		echo "Version: 1.0-1"
		echo "Section: $2"
		echo "Description: $3"
		echo "Description-md5: md5-$1"
		echo
	} >>"$P"
	printf 'Package: %s\nDescription-md5: md5-%s\nDescription-en: %s\n %s\n .\n Second paragraph.\n\n' \
		"$1" "$1" "$3" "$4" >>"$TR"
}
for i in $(seq 1 40); do
	pkg "game$i" games "arcade game number $i" "A puzzle game with levels, scores and joysticks ($i)." "gamesrc$((i / 2))"
	pkg "sci$i" contrib/science "telescope toolkit $i" "Astronomy data reduction for observatories, spectra $i." "scisrc$((i / 2))"
	pkg "snd$i" non-free/sound "audio mixer $i" "Mixes synthesizer audio tracks with effects, volume $i."
done
pkg python3-foo python "Python 3 module for parsing things" "This module parses words for the corpus."
pkg libbar1 libs "shared library for bar" "Bar library runtime files for the corpus."
pkg game-transitional games "transitional dummy package" "This package can be removed."
pkg game-dummy games "foo game (dummy)" "This package can be removed too."
pkg dummysolver games "bridge double dummy solver" "Solves bridge problems."
# the same description twice in one section: one kept
pkg dupa games "duplicate space shooter" "Shoot the duplicate aliens."
pkg dupb games "duplicate space shooter" "Shoot the duplicate aliens."
# the same description under two sections: neither kept
pkg clasha games "ambiguous thing" "Could be anything at all."
pkg clashb sound "ambiguous thing" "Could be anything at all."
# a source with six binaries in one section: three kept, named one first
for b in big big-a big-b big-c big-d big-e; do
	pkg "$b" science "big suite part $b" "Part $b of the big science suite." big
done
# a small section under --min-count
pkg mail1 mail "mail reader one" "Reads mail one."
pkg mail2 mail "mail reader two" "Reads mail two."
# a package without a long description, in a second (compressed) list that
# also repeats game1 (counted once)
P2=$L/deb.example.org_debian_dists_fake-updates_main_binary-amd64_Packages
printf 'Package: shortonly\nSection: games\nDescription: short only text game\nDescription-md5: none\n\n' >"$P2"
printf 'Package: game1\nSection: games\nDescription: arcade game number 1\nDescription-md5: md5-game1\n\n' >>"$P2"
gzip "$P2"

if out=$($S --lists "$L" --out "$T/o" --no-vectors --min-count 5 --seed 1 --test-fraction 0.3 2>&1); then
	ok "runs on the fixture"
else
	bad "runs on the fixture" "$out"
	report
	exit
fi
O=$T/o
cat "$O/train.tsv" "$O/test.tsv" >"$T/all.tsv"
cat "$O/train-packages.tsv" "$O/test-packages.tsv" >"$T/allp.tsv"

# labels: one line per package, the section with its prefix stripped
labels=$(cut -f 1 "$T/all.tsv" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
# games: 40 + dupa + shortonly + dummysolver; science: 40 + big, big-a, big-b; sound: 40
[ "$labels" = "games=43 science=43 sound=40 " ] && ok "labels and counts per section" ||
	bad "labels and counts per section" "got '$labels'"
grep -q -P '^science\ttelescope toolkit 7 Astronomy data reduction for observatories, spectra 7\. Second paragraph\.$' "$T/all.tsv" &&
	ok "contrib/ stripped; long description from Translation-en, one line" ||
	bad "contrib/ stripped; long description from Translation-en, one line" "$(grep sci7 "$T/all.tsv")"
grep -q "$(printf '^sound\taudio mixer 3 ')" "$T/all.tsv" && ok "non-free/ stripped" || bad "non-free/ stripped" "no sound line"
grep -q "$(printf '^games\tshort only text game$')" "$T/all.tsv" && ok "short description when Translation-en lacks it" ||
	bad "short description when Translation-en lacks it" "$(grep short "$T/all.tsv")"

# exclusions: left out of the labelled set, named in the summary, kept in the corpus
if grep -q -e python3-foo -e libbar1 -e game-transitional -e game-dummy -e mail1 "$T/allp.tsv"; then
	bad "excluded sections, transitional and small sections are not labelled" "$(grep -e python3-foo -e libbar1 -e transitional -e mail1 "$T/allp.tsv")"
else
	ok "excluded sections, transitional and small sections are not labelled"
fi
grep -q 'section python (name: python3-\* modules) *1$' "$O/summary.txt" &&
	grep -q 'section libs (.*) *1$' "$O/summary.txt" &&
	grep -q 'transitional or dummy package *2$' "$O/summary.txt" &&
	grep -q 'section mail: under --min-count 5 *2$' "$O/summary.txt" &&
	ok "the summary counts every exclusion" || bad "the summary counts every exclusion" "$(cat "$O/summary.txt")"
grep -q '^python 3 module for parsing things this module parses words for the corpus second paragraph$' "$O/corpus.txt" &&
	grep -q '^shared library for bar' "$O/corpus.txt" &&
	ok "corpus: excluded descriptions, lower-cased and tokenized" || bad "corpus: excluded descriptions, lower-cased and tokenized" "$(head -3 "$O/corpus.txt")"
grep -q -i 'transitional' "$O/corpus.txt" && bad "transitional packages stay out of the corpus" "found" ||
	ok "transitional packages stay out of the corpus"

# dedupe
n=$(grep -c -e '^dupa' -e '^dupb' "$T/allp.tsv")
grep -q '^dupa' "$T/allp.tsv" && [ "$n" = 1 ] && ok "the same description in one section counts once" ||
	bad "the same description in one section counts once" "$n lines"
grep -q -e '^clash' "$T/allp.tsv" && bad "the same description under two sections is dropped" "kept" ||
	ok "the same description under two sections is dropped"
grep -q 'same description under different sections *2$' "$O/summary.txt" &&
	grep -q 'same package in another list *1$' "$O/summary.txt" &&
	ok "dedupe counted in the summary" || bad "dedupe counted in the summary" "$(cat "$O/summary.txt")"
[ "$(grep -c '^game1	' "$T/allp.tsv")" = 1 ] && ok "a package in two lists (one .gz) counts once" ||
	bad "a package in two lists (one .gz) counts once" "$(grep -c '^game1	' "$T/allp.tsv")"

# the per-source cap keeps the binary named like its source, then by name
got=$(grep '	big	' "$T/allp.tsv" | cut -f 1 | sort | tr '\n' ' ')
[ "$got" = "big big-a big-b " ] && ok "at most 3 binaries of one source and section" ||
	bad "at most 3 binaries of one source and section" "got '$got'"

# the split: by source package, near the fraction, seeded and stable
leak=$(cut -f 2 "$O/train-packages.tsv" | sort -u | comm -12 - "$(cut -f 2 "$O/test-packages.tsv" | sort -u >"$T/ts"; echo "$T/ts")")
[ -z "$leak" ] && ok "no source package on both sides of the split" || bad "no source package on both sides of the split" "$leak"
ntest=$(wc -l <"$O/test.tsv") ntrain=$(wc -l <"$O/train.tsv")
[ $((ntrain + ntest)) = 126 ] && [ "$ntest" -ge 20 ] && [ "$ntest" -le 56 ] &&
	ok "test split near 30 % ($ntest of 126)" || bad "test split near 30 %" "$ntest test, $ntrain train"
[ "$(wc -l <"$O/train-packages.tsv")" = "$ntrain" ] && ok "package lists match the data line for line" ||
	bad "package lists match the data line for line" "counts differ"
$S --lists "$L" --out "$T/o2" --no-vectors --min-count 5 --seed 1 --test-fraction 0.3 >/dev/null 2>&1
$S --lists "$L" --out "$T/o3" --no-vectors --min-count 5 --seed 2 --test-fraction 0.3 >/dev/null 2>&1
cmp -s "$O/test.tsv" "$T/o2/test.tsv" && cmp -s "$O/corpus.txt" "$T/o2/corpus.txt" &&
	ok "the same seed gives the same files" || bad "the same seed gives the same files" "differ"
cmp -s "$O/test-packages.tsv" "$T/o3/test-packages.tsv" && bad "another seed gives another split" "same" ||
	ok "another seed gives another split"

# no text of a test-split source reaches the corpus
: >"$T/hits"
while IFS="$(printf '\t')" read -r _ text; do
	line=$(printf '%s' "$text" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')
	grep -qxF "$line" "$O/corpus.txt" && echo "$text" >>"$T/hits"
done <"$O/test.tsv"
[ ! -s "$T/hits" ] && ok "no test description in the corpus" || bad "no test description in the corpus" "$(head -2 "$T/hits")"

# errors name the file and line
printf 'Package: a\nSection: games\nDescription: x\n\nthis is not a field\n' >"$T/bad_Packages"
mkdir -p "$T/badl" && mv "$T/bad_Packages" "$T/badl/x_Packages"
out=$($S --lists "$T/badl" --out "$T/ob" --no-vectors 2>&1) && bad "a malformed list is an error" "exit 0" ||
	{ echo "$out" | grep -q "x_Packages:5: expected 'Field: value'" && ok "a malformed list names file and line" ||
		bad "a malformed list names file and line" "$out"; }
out=$($S --lists "$T/nowhere" --out "$T/ob" --no-vectors 2>&1) && bad "a missing list directory is an error" "exit 0" ||
	{ echo "$out" | grep -q "nowhere: no such directory" && ok "a missing list directory is an error" ||
		bad "a missing list directory is an error" "$out"; }
out=$($S --lists "$L" --out "$T/ob" --no-vectors --test-fraction 2 2>&1) && bad "a bad option value is an error" "exit 0" ||
	{ echo "$out" | grep -q "test-fraction: expected a number between 0 and 1" && ok "a bad option value is an error" ||
		bad "a bad option value is an error" "$out"; }

# thaw reads the TSV files it wrote
if [ -x ./thaw ] || make -s thaw >/dev/null 2>&1; then
	out=$(./thaw data "$O/train.tsv" 2>&1)
	echo "$out" | grep -q -i 'games' && echo "$out" | grep -q -i 'sound' && ok "thaw data reads train.tsv" ||
		bad "thaw data reads train.tsv" "$out"
fi

# fastText vectors from the corpus (the source task), when fastText is here
if command -v fasttext >/dev/null 2>&1; then
	# a corpus big enough for words of count 3: the fixture's, ten times
	out=$($S --lists "$L" --out "$T/v" --min-count 5 --dim 8 --epoch 1 --threads 1 2>&1)
	head -n 1 "$T/v/vectors.vec" 2>/dev/null | grep -q '^[0-9][0-9]* 8$' && grep -q "^paragraph " "$T/v/vectors.vec" &&
		[ ! -e "$T/v/vectors.bin" ] && ok "fastText skipgram writes vectors.vec" ||
		bad "fastText skipgram writes vectors.vec" "$out"
else
	echo "skip fastText skipgram: fasttext is not installed (apt-get install fasttext)"
	out=$($S --lists "$L" --out "$T/v" --min-count 5 2>&1)
	echo "$out" | grep -q 'vectors: not built: fasttext is not installed' && ok "without fastText the summary says so" ||
		bad "without fastText the summary says so" "$out"
fi

report
