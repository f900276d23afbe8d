/* thaw vocabularies and the tokenizer: words <-> token ids for text data
 * and text models. A vocabulary is immutable once built and shared by
 * reference: data sets, their selections and the models trained on them
 * each hold a reference (thaw_vocab_ref) and drop it with thaw_vocab_free.
 *
 *   thaw_vocab *v = thaw_vocab_new(1);                  // lower-casing tokenizer
 *   thaw_token_iter it = thaw_token_iter_init("Héllo, wörld 42", -1, 1);
 *   while (thaw_token_next(&it))                        // "héllo" "wörld" "42"
 *           thaw_vocab_add(v, it.tok, it.len, 1);
 *   int id = thaw_vocab_find(v, "wörld", 6);            // >= 2; THAW_TOKEN_UNK if absent
 *
 * Id 0 is padding ("<pad>") and id 1 every unknown word ("<unk>"); words
 * start at 2. Lives in core so that models (nn), the word-vector reader
 * (codec) and data sets (data) all share it. */
#ifndef THAW_VOCAB_H
#define THAW_VOCAB_H

#include <stddef.h>
#include <stdint.h>

enum { THAW_TOKEN_PAD = 0, THAW_TOKEN_UNK = 1, THAW_TOKEN_FIRST = 2 };
#define THAW_TOKEN_MAX 256 /* bytes of one token; longer words are cut at a character boundary */

/* ---- the tokenizer: UTF-8 text split on every character that is not a
 * letter or a digit (Unicode letters included: "naïve", "Straße", "мир",
 * "日本" are words; punctuation, symbols and spaces separate). Bytes that
 * are not valid UTF-8 separate too and are counted in `invalid`, so a
 * caller can say so. With lower, letters are lower-cased (ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic; other scripts are kept as they are). */
typedef struct thaw_token_iter {
	const char *p, *end;
	int lower;
	char tok[THAW_TOKEN_MAX + 4]; /* the current token, NUL-terminated */
	size_t len;                   /* its bytes */
	int invalid;                  /* invalid UTF-8 sequences seen so far */
} thaw_token_iter;
/* len < 0: s is NUL-terminated. s is borrowed for the iteration. */
thaw_token_iter thaw_token_iter_init(const char *s, long len, int lower);
int thaw_token_next(thaw_token_iter *it); /* 1 with it->tok, 0 at the end */
/* 1 when code point c counts as a letter or digit for the tokenizer. */
int thaw_codepoint_is_word(uint32_t c);
uint32_t thaw_codepoint_lower(uint32_t c);

/* ---- vocabularies */
typedef struct thaw_vocab {
	int n;          /* words including <pad> and <unk> */
	char **words;   /* (n), owned */
	int64_t *count; /* (n) occurrences in the text it was counted on */
	int lower;      /* the tokenizer setting the words were made with */
	/* private: word -> id hash (open addressing), reference count */
	int *slot;
	size_t nslots;
	int cap;
	int refs;
} thaw_vocab;

/* An empty vocabulary (just <pad> and <unk>). */
thaw_vocab *thaw_vocab_new(int lower);
/* Another reference to v (returns v). */
thaw_vocab *thaw_vocab_ref(thaw_vocab *v);
void thaw_vocab_free(thaw_vocab *v); /* drops one reference; NULL is fine */
/* Adds count to word w (len bytes), making it the next id if new. Only for
 * a vocabulary still being built (one reference). Returns its id or < 0. */
int thaw_vocab_add(thaw_vocab *v, const char *w, size_t len, int64_t count);
/* The id of w, or THAW_TOKEN_UNK. */
int thaw_vocab_find(const thaw_vocab *v, const char *w, size_t len);
/* A new vocabulary of v's words whose count[id] (the caller's counts, n
 * entries; NULL: v->count) is at least min_count, the most frequent first
 * (ties in byte order of the word), at most max_size words in all counting
 * <pad> and <unk> (0: no limit). */
thaw_vocab *thaw_vocab_limit(const thaw_vocab *v, const int64_t *count, int64_t min_count, int max_size);
/* A new vocabulary holding a's words at their ids and b's other words
 * after them (counts summed); bmap (b->n entries) gets each b id's new id. */
thaw_vocab *thaw_vocab_merge(const thaw_vocab *a, const thaw_vocab *b, int *bmap);
/* Tokenizes s into ids (at most max, padded with THAW_TOKEN_PAD up to
 * max): returns the number of tokens the text has (which may exceed max:
 * the rest is cut). */
int thaw_vocab_encode(const thaw_vocab *v, const char *s, long len, int32_t *ids, int max);
/* 1 when a and b give every word the same id (the same object, or equal
 * word lists and tokenizer setting). */
int thaw_vocab_same(const thaw_vocab *a, const thaw_vocab *b);
/* The word of id ("<pad>", "<unk>" for 0 and 1; "?" out of range). */
const char *thaw_vocab_word(const thaw_vocab *v, int id);

#endif
