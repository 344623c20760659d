/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A JSON scanner that checks the grammar and notes where values begin and end, without
 * building anything: --from manifests can be hundreds of megabytes, and a cJSON tree costs
 * about eight times the text, so kube_manifest.c parses one list item at a time from the spans
 * this finds.
 */
#include "kube_json_split.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's CJSON_NESTING_LIMIT: a file nested deeper than cJSON takes is refused here too. */
#define KUBE_JSON_MAX_DEPTH 1000

struct kube_json_scan {
	const char *text;
	size_t len;
	size_t pos; /* at an error: the offending byte */
	struct kube_json_split *split;
};

static bool kube_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Inline: called around every value and member, and most of the time there is nothing to skip. */
static inline void kube_json_skip_ws(struct kube_json_scan *s)
{
	while (s->pos < s->len && kube_json_ws(s->text[s->pos]))
		s->pos++;
}

/* The byte at the cursor, or -1 at the end of the text. */
static int kube_json_peek(const struct kube_json_scan *s)
{
	return s->pos < s->len ? (unsigned char)s->text[s->pos] : -1;
}

static int kube_json_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The bytes a string holds as they are: all but the quote, the backslash and control characters. */
static const bool kube_json_plain[256] = {
    [0x20 ... '"' - 1] = true, ['"' + 1 ... '\\' - 1] = true, ['\\' + 1 ... 0xff] = true};

/* A string, the cursor on its opening quote; leaves it after the closing one. */
static int kube_json_string(struct kube_json_scan *s)
{
	const unsigned char *text = (const unsigned char *)s->text;

	s->pos++;
	for (;;) {
		int c;

		/* A run of plain bytes at a time: most of a manifest is names and values. */
		while (s->pos < s->len && kube_json_plain[text[s->pos]])
			s->pos++;
		c = kube_json_peek(s);
		if (c < 0x20) /* the end of the text, or a raw control character */
			return -EBADMSG;
		s->pos++;
		if (c == '"')
			return 0;
		c = kube_json_peek(s); /* after a backslash */
		if (c <= 0 || !strchr("\"\\/bfnrtu", c)) /* strchr would match a NUL too */
			return -EBADMSG;
		s->pos++;
		for (int i = 0; c == 'u' && i < 4; i++, s->pos++)
			if (kube_json_hex(kube_json_peek(s)) < 0)
				return -EBADMSG;
	}
}

static bool kube_json_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)? */
static int kube_json_number(struct kube_json_scan *s)
{
	if (kube_json_peek(s) == '-')
		s->pos++;
	if (kube_json_peek(s) == '0')
		s->pos++;
	else if (!kube_json_digit(kube_json_peek(s)))
		return -EBADMSG;
	else
		while (kube_json_digit(kube_json_peek(s)))
			s->pos++;
	if (kube_json_peek(s) == '.') {
		s->pos++;
		if (!kube_json_digit(kube_json_peek(s)))
			return -EBADMSG;
		while (kube_json_digit(kube_json_peek(s)))
			s->pos++;
	}
	if (kube_json_peek(s) == 'e' || kube_json_peek(s) == 'E') {
		s->pos++;
		if (kube_json_peek(s) == '-' || kube_json_peek(s) == '+')
			s->pos++;
		if (!kube_json_digit(kube_json_peek(s)))
			return -EBADMSG;
		while (kube_json_digit(kube_json_peek(s)))
			s->pos++;
	}
	return 0;
}

static int kube_json_literal(struct kube_json_scan *s, const char *word)
{
	for (; *word; word++, s->pos++)
		if (kube_json_peek(s) != *word)
			return -EBADMSG;
	return 0;
}

/* Whether the string at off (its opening quote) spells name, escapes decoded. */
static bool kube_json_key_is(const char *text, size_t off, size_t end, const char *name)
{
	size_t i = off + 1, n = 0, want = strlen(name);

	while (i < end - 1) {
		unsigned cp = (unsigned char)text[i++];

		if (cp == '\\') {
			char e = text[i++];

			if (e == '"' || e == '\\' || e == '/') {
				cp = (unsigned char)e;
			} else if (e != 'u') {
				cp = 1; /* \b \f \n \r \t: a control character, in no name */
			} else {
				cp = 0;
				for (int k = 0; k < 4; k++)
					cp = cp * 16 +
					     (unsigned)kube_json_hex((unsigned char)text[i++]);
			}
		}
		if (n >= want || cp != (unsigned char)name[n])
			return false;
		n++;
	}
	return n == want;
}

static int kube_json_span_push(struct kube_json_split *split, size_t off, size_t len)
{
	if (split->n_items == split->cap_items) {
		size_t cap = split->cap_items ? 2 * split->cap_items : 64;
		struct kube_json_span *grown = reallocarray(split->items, cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		split->items = grown;
		split->cap_items = cap;
	}
	split->items[split->n_items++] = (struct kube_json_span){off, len};
	return 0;
}

static int kube_json_value(struct kube_json_scan *s, unsigned depth);

/* An array at depth (containers around it); record: note its elements as items. */
static int kube_json_array(struct kube_json_scan *s, unsigned depth, bool record)
{
	int r;

	if (depth >= KUBE_JSON_MAX_DEPTH)
		return -EBADMSG;
	s->pos++;
	kube_json_skip_ws(s);
	if (kube_json_peek(s) == ']') {
		s->pos++;
		return 0;
	}
	for (;;) {
		size_t start;

		kube_json_skip_ws(s);
		start = s->pos;
		r = kube_json_value(s, depth + 1);
		if (r == 0 && record)
			r = kube_json_span_push(s->split, start, s->pos - start);
		if (r < 0)
			return r;
		kube_json_skip_ws(s);
		if (kube_json_peek(s) == ']') {
			s->pos++;
			return 0;
		}
		if (kube_json_peek(s) != ',')
			return -EBADMSG;
		s->pos++;
	}
}

/* An object at depth; doc (or NULL): the document it is, whose first "items" array is noted. */
static int kube_json_object(struct kube_json_scan *s, unsigned depth, struct kube_json_doc *doc)
{
	bool items_seen = false;
	int r;

	if (depth >= KUBE_JSON_MAX_DEPTH)
		return -EBADMSG;
	s->pos++;
	kube_json_skip_ws(s);
	if (kube_json_peek(s) == '}') {
		s->pos++;
		return 0;
	}
	for (;;) {
		size_t key;
		bool items;

		kube_json_skip_ws(s);
		if (kube_json_peek(s) != '"')
			return -EBADMSG;
		key = s->pos;
		r = kube_json_string(s);
		if (r < 0)
			return r;
		/* cJSON finds the first member of a name: a later "items" is an ordinary one. */
		items = doc && !items_seen && kube_json_key_is(s->text, key, s->pos, "items");
		items_seen |= items;
		kube_json_skip_ws(s);
		if (kube_json_peek(s) != ':')
			return -EBADMSG;
		s->pos++;
		kube_json_skip_ws(s);
		if (items && kube_json_peek(s) == '[') {
			doc->items.off = s->pos;
			doc->first_item = s->split->n_items;
			r = kube_json_array(s, depth + 1, true);
			doc->items.len = s->pos - doc->items.off;
			doc->n_items = s->split->n_items - doc->first_item;
		} else {
			r = kube_json_value(s, depth + 1);
		}
		if (r < 0)
			return r;
		kube_json_skip_ws(s);
		if (kube_json_peek(s) == '}') {
			s->pos++;
			return 0;
		}
		if (kube_json_peek(s) != ',')
			return -EBADMSG;
		s->pos++;
	}
}

static int kube_json_value(struct kube_json_scan *s, unsigned depth)
{
	switch (kube_json_peek(s)) {
	case '{':
		return kube_json_object(s, depth, NULL);
	case '[':
		return kube_json_array(s, depth, false);
	case '"':
		return kube_json_string(s);
	case 't':
		return kube_json_literal(s, "true");
	case 'f':
		return kube_json_literal(s, "false");
	case 'n':
		return kube_json_literal(s, "null");
	default:
		return kube_json_number(s);
	}
}

static struct kube_json_doc *kube_json_doc_push(struct kube_json_split *split)
{
	if (split->n_docs == split->cap_docs) {
		size_t cap = split->cap_docs ? 2 * split->cap_docs : 4;
		struct kube_json_doc *grown = reallocarray(split->docs, cap, sizeof(*grown));

		if (!grown)
			return NULL;
		split->docs = grown;
		split->cap_docs = cap;
	}
	split->docs[split->n_docs] = (struct kube_json_doc){0};
	return &split->docs[split->n_docs++];
}

int kube_json_split_run(const char *text, size_t len, struct kube_json_split *split,
			size_t *ret_err_off)
{
	struct kube_json_scan s = {.text = text, .len = len, .split = split};
	int r = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		s.pos = 3;
	for (;;) {
		struct kube_json_doc *doc;

		kube_json_skip_ws(&s);
		if (s.pos == len)
			break;
		doc = kube_json_doc_push(split);
		if (!doc)
			return -ENOMEM;
		doc->span.off = s.pos;
		/* The document's own pointer stays valid: only items grow while it is scanned. */
		r = kube_json_peek(&s) == '{' ? kube_json_object(&s, 0, doc)
					      : kube_json_value(&s, 0);
		if (r < 0)
			break;
		doc->span.len = s.pos - doc->span.off;
	}
	/* Nothing but whitespace is not a JSON text (a file cut to nothing while being saved). */
	if (r == 0 && split->n_docs == 0)
		r = -EBADMSG;
	if (r == -EBADMSG && ret_err_off)
		*ret_err_off = s.pos < len ? s.pos : len;
	return r;
}

void kube_json_split_clear(struct kube_json_split *split)
{
	free(split->docs);
	free(split->items);
	*split = (struct kube_json_split){0};
}

int kube_json_doc_shell(const char *text, const struct kube_json_doc *doc, char **ret_text,
			size_t *ret_len)
{
	size_t before = doc->items.len ? doc->items.off - doc->span.off : doc->span.len;
	size_t after =
	    doc->items.len ? doc->span.off + doc->span.len - (doc->items.off + doc->items.len) : 0;
	size_t len = before + (doc->items.len ? 2 : 0) + after;
	char *t = malloc(len ? len : 1);

	if (!t)
		return -ENOMEM;
	memcpy(t, text + doc->span.off, before);
	if (doc->items.len) {
		memcpy(t + before, "[]", 2);
		memcpy(t + before + 2, text + doc->items.off + doc->items.len, after);
	}
	*ret_text = t;
	*ret_len = len;
	return 0;
}
