/* Text data: the UTF-8 tokenizer (letters of any script, case folding,
 * invalid bytes), vocabularies (limits, order, merge), class folders and
 * TSV/CSV tables with their errors, lengths (given, percentile), and
 * selection and joining of text sets. Fixtures are written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/text.h"

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	fputs(s, f);
	fclose(f);
}

/* Tokens of s joined by '|'. */
static const char *toks(const char *s, int lower, int *invalid)
{
	static char out[1024];
	out[0] = 0;
	thaw_token_iter it = thaw_token_iter_init(s, -1, lower);
	while (thaw_token_next(&it)) {
		if (out[0])
			strcat(out, "|");
		strcat(out, it.tok);
	}
	if (invalid)
		*invalid = it.invalid;
	return out;
}

static void test_tokenizer(void)
{
	CHECK(!strcmp(toks("Hello, World! 42x", 1, NULL), "hello|world|42x"));
	CHECK(!strcmp(toks("Hello, World!", 0, NULL), "Hello|World"));
	/* letters beyond ASCII are word characters and lower-case */
	CHECK(!strcmp(toks("Ärger über NAÏVE Straße — ΣΟΦΙΑ Мир «日本»", 1, NULL),
		      "ärger|über|naïve|straße|σοφια|мир|日本"));
	CHECK(!strcmp(toks("don't  e-mail\tfoo_bar", 1, NULL), "don|t|e|mail|foo|bar"));
	int inv = 0;
	/* an invalid byte separates and is counted; a cut-off sequence too */
	CHECK(!strcmp(toks("ab\xff" "cd \xc3", 1, &inv), "ab|cd"));
	CHECK(inv == 2);
	CHECK(!strcmp(toks("\xc0\xaf" "x", 1, &inv), "x")); /* overlong '/' */
	CHECK(inv == 2);
	CHECK(!strcmp(toks("", 1, NULL), ""));
	char longw[1000];
	memset(longw, 'a', 999);
	longw[999] = 0;
	thaw_token_iter it = thaw_token_iter_init(longw, -1, 1);
	CHECK(thaw_token_next(&it) && it.len == THAW_TOKEN_MAX);
	CHECK(!thaw_token_next(&it));
}

static void test_vocab(void)
{
	thaw_vocab *v = thaw_vocab_new(1);
	CHECK(v->n == 2 && !strcmp(thaw_vocab_word(v, 0), "<pad>") && !strcmp(thaw_vocab_word(v, 1), "<unk>"));
	const char *words[] = {"b", "a", "c", "a", "b", "a", "d"};
	for (int i = 0; i < 7; i++)
		CHECK(thaw_vocab_add(v, words[i], 1, 1) >= THAW_TOKEN_FIRST);
	CHECK(v->n == 6);
	CHECK(thaw_vocab_find(v, "a", 1) == 3 && v->count[3] == 3);
	CHECK(thaw_vocab_find(v, "zz", 2) == THAW_TOKEN_UNK);
	thaw_vocab *l = thaw_vocab_limit(v, NULL, 2, 0); /* a(3) b(2) */
	CHECK(l->n == 4 && thaw_vocab_find(l, "a", 1) == 2 && thaw_vocab_find(l, "b", 1) == 3);
	CHECK(thaw_vocab_find(l, "c", 1) == THAW_TOKEN_UNK);
	thaw_vocab *l2 = thaw_vocab_limit(v, NULL, 1, 3); /* <pad> <unk> a */
	CHECK(l2->n == 3 && thaw_vocab_find(l2, "a", 1) == 2);
	thaw_vocab *l3 = thaw_vocab_limit(v, NULL, 1, 5); /* ties (c, d: 1 each) in byte order */
	CHECK(l3->n == 5 && thaw_vocab_find(l3, "c", 1) == 4 && thaw_vocab_find(l3, "d", 1) == THAW_TOKEN_UNK);
	int32_t ids[6];
	CHECK(thaw_vocab_encode(l, "A b Z a", -1, ids, 6) == 4);
	CHECK(ids[0] == 2 && ids[1] == 3 && ids[2] == THAW_TOKEN_UNK && ids[3] == 2 && ids[4] == 0 && ids[5] == 0);
	CHECK(thaw_vocab_encode(l, "a a a a a a a a", -1, ids, 3) == 8);
	int bmap[6];
	thaw_vocab *m = thaw_vocab_merge(l, v, bmap);
	CHECK(m->n == 6 && bmap[thaw_vocab_find(v, "a", 1)] == 2 && bmap[thaw_vocab_find(v, "d", 1)] == 5);
	/* many words: the hash grows and every word stays findable */
	thaw_vocab *big = thaw_vocab_new(0);
	char w[16];
	for (int i = 0; i < 5000; i++) {
		snprintf(w, sizeof w, "w%d", i);
		thaw_vocab_add(big, w, strlen(w), i);
	}
	int ok = 1;
	for (int i = 0; i < 5000; i++) {
		snprintf(w, sizeof w, "w%d", i);
		ok &= thaw_vocab_find(big, w, strlen(w)) == i + 2;
	}
	CHECK(ok && big->n == 5002);
	thaw_vocab_free(big);
	thaw_vocab_free(m);
	thaw_vocab_free(l3);
	thaw_vocab_free(l2);
	thaw_vocab_free(l);
	thaw_vocab_free(v);
	thaw_vocab_free(NULL);
}

static void test_folder(void)
{
	mkdir(tpath("tf"), 0755);
	mkdir(tpath("tf/sport"), 0755);
	mkdir(tpath("tf/music"), 0755);
	put(tpath("tf/sport/1.txt"), "The ball and the goal.");
	put(tpath("tf/sport/2.txt"), "A goal! A goal!");
	put(tpath("tf/sport/readme.md"), "not a text sample");
	put(tpath("tf/music/1.txt"), "Guitar and drums and bass and voice");
	put(tpath("tf/music/2.TXT"), "");
	CHECK(thaw_text_probe(tpath("tf")));
	thaw_text_opts o = thaw_text_opts_default();
	o.length = 4;
	thaw_dataset *d = thaw_text_load(tpath("tf"), &o);
	CHECKF(d != NULL, "%s", thaw_errmsg());
	if (!d)
		return;
	CHECK(d->n == 4 && d->n_classes == 2 && d->w == 4 && d->c == 1 && d->h == 1 && !d->x);
	CHECK(!strcmp(d->class_names[0], "music") && !strcmp(d->class_names[1], "sport"));
	CHECK(d->y[0] == 0 && d->y[2] == 1);
	CHECK(d->len[0] == 7 && d->len[1] == 0 && d->len[2] == 5 && d->len[3] == 4);
	char *s = thaw_text_sample(d, 0);
	CHECK(s && !strcmp(s, "guitar and drums and"));
	free(s);
	s = thaw_text_sample(d, 1);
	CHECK(s && !strcmp(s, ""));
	free(s);
	CHECK(d->notes && strstr(d->notes, "readme.md") && strstr(d->notes, "without a word"));
	thaw_text_stats st;
	CHECK_OK(thaw_text_stats_of(d, &st));
	CHECK(st.min == 0 && st.max == 7 && st.cut == 2 && st.empty == 1 && st.tokens == 12);
	/* the vocabulary counted on one split maps the rest to <unk> */
	int idx[] = {2, 3};
	thaw_dataset *sp = thaw_dataset_subset(d, idx, 2);
	thaw_vocab *v = thaw_text_fit_vocab(sp, 2, 0); /* "the", "a", "goal": twice each in the stored tokens */
	CHECK(v && v->n == 5 && thaw_vocab_find(v, "goal", 4) >= 2 && thaw_vocab_find(v, "a", 1) >= 2);
	thaw_dataset *re = thaw_text_with_vocab(d, v);
	s = thaw_text_sample(re, 0);
	CHECK(s && !strcmp(s, "<unk> <unk> <unk> <unk>"));
	free(s);
	s = thaw_text_sample(re, 3);
	CHECK(s && !strcmp(s, "a goal a goal"));
	free(s);
	thaw_text_stats_of(re, &st);
	CHECK(st.unknown == 6);
	/* selection keeps ids, lengths and the vocabulary */
	int cls[] = {1};
	thaw_dataset *sel = thaw_dataset_select_classes(re, cls, 1);
	CHECK(sel && sel->n == 2 && sel->ids && sel->vocab == v && sel->len[1] == 4);
	thaw_dataset *pc = thaw_dataset_per_class(d, 2, 7);
	CHECK(pc && pc->n == 4 && pc->ids);
	thaw_dataset *tr = NULL, *va = NULL;
	CHECK_OK(thaw_dataset_split(d, 0.5f, 3, &tr, &va));
	CHECK(tr && va && tr->n == 2 && va->n == 2 && tr->ids && va->vocab == d->vocab);
	/* a longer length keeps what was stored */
	thaw_dataset *rl = thaw_text_relength(d, 6);
	CHECK(rl && rl->w == 6 && rl->ids[4] == THAW_TOKEN_PAD && rl->ids[3] == d->ids[3]);
	/* join: vocabularies merge, the longer length wins */
	thaw_dataset *j = thaw_dataset_join(re, rl);
	CHECK(j && j->n == 8 && j->w == 6 && j->vocab != re->vocab);
	s = thaw_text_sample(j, 4);
	CHECK(s && !strcmp(s, "guitar and drums and"));
	free(s);
	s = thaw_text_sample(j, 3);
	CHECK(s && !strcmp(s, "a goal a goal"));
	free(s);
	thaw_dataset *cl = thaw_dataset_clone(d);
	CHECK(cl && cl->ids && !memcmp(cl->ids, d->ids, sizeof *d->ids * 16));
	/* the loader hands ids as floats */
	thaw_loader_opts lo = thaw_loader_opts_default();
	float x[8];
	int32_t y[2];
	int ix[] = {3, 0};
	thaw_batch_fill(x, y, d, ix, 2, &lo, 0);
	CHECK(x[0] == (float)d->ids[12] && x[4] == (float)d->ids[0] && y[0] == 1 && y[1] == 0);
	/* images and text do not join */
	thaw_dataset *img = thaw_dataset_new(1, 1, 1, 4, 1);
	CHECK(!thaw_dataset_join(d, img) && strstr(thaw_errmsg(), "text"));
	float mean, sd;
	CHECK_ERR(thaw_dataset_stats(d, &mean, &sd), "text");
	/* the image-only operations refuse text instead of reading pixels that are not there */
	CHECK_ERR(thaw_dataset_grid_png(d, tpath("g.png"), 2, 1), "holds text");
	CHECK_ERR(thaw_folder_save(d, tpath("out")), "holds text");
	CHECK(!thaw_dataset_resize(d, 4, 4) && strstr(thaw_errmsg(), "holds text"));
	CHECK(!thaw_dataset_channels(d, 3) && strstr(thaw_errmsg(), "holds text"));
	thaw_input_spec want = {.c = 3, .h = 8, .w = 8};
	CHECK(!thaw_dataset_to_spec(d, &want, NULL, 0) && strstr(thaw_errmsg(), "cannot become"));
	want = (thaw_input_spec){.c = 1, .h = 1, .w = 6};
	char desc[64];
	thaw_dataset *six = thaw_dataset_to_spec(d, &want, desc, sizeof desc);
	CHECK(six && six->w == 6 && !strcmp(desc, "length 4 -> 6 tokens"));
	thaw_dataset_free(six);
	thaw_dataset_free(img);
	thaw_dataset_free(cl);
	thaw_dataset_free(j);
	thaw_dataset_free(rl);
	thaw_dataset_free(tr);
	thaw_dataset_free(va);
	thaw_dataset_free(pc);
	thaw_dataset_free(sel);
	thaw_dataset_free(re);
	thaw_vocab_free(v);
	thaw_dataset_free(sp);
	thaw_dataset_free(d);
	/* an empty class folder is an error naming it */
	mkdir(tpath("tf/empty"), 0755);
	CHECK(!thaw_text_load(tpath("tf"), &o) && strstr(thaw_errmsg(), "'empty'"));
}

static void test_table(void)
{
	put(tpath("a.tsv"), "label\ttext\n"
			    "games\tA puzzle game with levels\r\n"
			    "\n"
			    "admin\tTools for the system administrator\n"
			    "games\tArcade game\twith a tab\n"
			    "admin\tbackup tools backup\n");
	thaw_text_opts o = thaw_text_opts_default();
	o.header = 1;
	thaw_dataset *d = thaw_text_load(tpath("a.tsv"), &o);
	CHECKF(d != NULL, "%s", thaw_errmsg());
	if (!d)
		return;
	CHECK(d->n == 4 && d->n_classes == 2 && !strcmp(d->class_names[0], "admin"));
	CHECK(d->y[0] == 1 && d->y[1] == 0 && d->y[2] == 1);
	CHECK(d->len[2] == 5); /* the second tab is part of the text */
	CHECK(d->w == 5);       /* 95th percentile of 5, 5, 4, 3 */
	CHECK(d->notes && strstr(d->notes, "1 blank line"));
	thaw_dataset_free(d);
	/* min count and max words at load */
	o.min_count = 2;
	d = thaw_text_load(tpath("a.tsv"), &o);
	CHECK(d && d->vocab->n == 7); /* a, backup, game, tools, with: twice each */
	thaw_dataset_free(d);
	o.min_count = 1;
	/* with a given vocabulary and length (a test split) */
	thaw_vocab *v = thaw_vocab_new(1);
	thaw_vocab_add(v, "game", 4, 1);
	o.vocab = v;
	o.length = 3;
	d = thaw_text_load(tpath("a.tsv"), &o);
	CHECK(d && d->w == 3 && d->vocab == v && d->ids[0] == 1 && d->ids[1] == 1 && d->ids[2] == 2);
	thaw_dataset_free(d);
	thaw_vocab_free(v);
	o = thaw_text_opts_default();
	/* CSV with quotes, a quoted comma and newline */
	put(tpath("b.csv"), "sci,\"Physics, chemistry\"\n"
			    "art,\"She said \"\"paint\"\"\nand left\"\n"
			    "sci,plain text\n");
	d = thaw_text_load(tpath("b.csv"), &o);
	CHECKF(d != NULL, "%s", thaw_errmsg());
	if (d) {
		CHECK(d->n == 3 && !strcmp(d->class_names[0], "art"));
		char *s = thaw_text_sample(d, 1);
		CHECK(s && !strcmp(s, "she said paint and left"));
		free(s);
	}
	thaw_dataset_free(d);
	/* errors name the file and line */
	put(tpath("c.tsv"), "games\tok\nno tab here\n");
	CHECK(!thaw_text_load(tpath("c.tsv"), &o) && strstr(thaw_errmsg(), "c.tsv:2: no tab"));
	put(tpath("d.tsv"), "games\tok\n\tno label\n");
	CHECK(!thaw_text_load(tpath("d.tsv"), &o) && strstr(thaw_errmsg(), "d.tsv:2: empty label"));
	put(tpath("e.csv"), "a,ok\nb,\"never closed\n");
	CHECK(!thaw_text_load(tpath("e.csv"), &o) && strstr(thaw_errmsg(), "e.csv:2:") &&
	      strstr(thaw_errmsg(), "never closed"));
	put(tpath("f.csv"), "a,b,c\n");
	CHECK(!thaw_text_load(tpath("f.csv"), &o) && strstr(thaw_errmsg(), "f.csv:1: more than two"));
	put(tpath("g.tsv"), "");
	CHECK(!thaw_text_load(tpath("g.tsv"), &o) && strstr(thaw_errmsg(), "no texts"));
	CHECK(!thaw_text_load(tpath("missing.tsv"), &o) && strstr(thaw_errmsg(), "missing.tsv"));
	put(tpath("h.tsv"), "x\tgood \xff\xfe bytes\n");
	d = thaw_text_load(tpath("h.tsv"), &o);
	CHECK(d && d->len[0] == 2 && d->notes && strstr(d->notes, "not UTF-8") && strstr(d->notes, "h.tsv:1"));
	thaw_dataset_free(d);
	/* thaw_dataset_open knows text specs */
	d = thaw_dataset_open(tpath("a.tsv"));
	CHECK(d && d->ids && d->n == 4); /* "label<TAB>text" is taken for a header */
	thaw_dataset_free(d);
	o = thaw_text_opts_default();
	o.header = -1;
	d = thaw_text_load(tpath("a.tsv"), &o);
	CHECK(d && d->n == 5 && !strcmp(d->class_names[2], "label"));
	thaw_dataset_free(d);
	put(tpath("nh.tsv"), "games\tfirst line is data\n");
	d = thaw_text_load(tpath("nh.tsv"), NULL);
	CHECK(d && d->n == 1);
	thaw_dataset_free(d);
}

static void test_strings(void)
{
	const char *t[] = {"one two", "two three three", "x"};
	int y[] = {0, 1, 1};
	thaw_text_opts o = thaw_text_opts_default();
	o.percentile = 50;
	thaw_dataset *d = thaw_text_from_strings(t, y, 3, NULL, 2, "mem", &o);
	CHECK(d && d->w == 2 && d->n == 3 && !strcmp(d->class_names[1], "1"));
	thaw_dataset_free(d);
	int bad[] = {0, 2, 1};
	CHECK(!thaw_text_from_strings(t, bad, 3, NULL, 2, "mem", &o) && strstr(thaw_errmsg(), "text 2"));
}

int main(void)
{
	if (tmpdir_make("thaw-text") < 0)
		return 1;
	RUN(test_tokenizer);
	RUN(test_vocab);
	RUN(test_folder);
	RUN(test_table);
	RUN(test_strings);
	tmpdir_remove();
	return check_done();
}
