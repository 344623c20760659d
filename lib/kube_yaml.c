/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML to cJSON from libyaml's events, a document (or a list's item) at a time: libyaml's own
 * document loader holds a whole document as nodes, about 24 times the text. Kubernetes
 * manifests are YAML 1.1 read by go-yaml, so plain scalars resolve to the types it gives them;
 * the result feeds the same decoder as JSON. Aliases are expanded under a node budget, so
 * "billion laughs" fails cleanly.
 */
#include "kube_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <yaml.h>

#include "cleanup.h"

#define KUBE_YAML_MAX_DEPTH 128

static bool kube_yaml_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* Strict integer forms: [-+]digits, 0x hex, 0 octal (YAML 1.1). Underscores are not taken. */
static bool kube_yaml_int(const char *s, double *ret)
{
	const char *p = s;
	bool neg = false;
	int base = 10;
	double v = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'o') {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p++;
	}
	if (!*p)
		return false;
	for (; *p; p++) {
		int digit;

		if (isdigit((unsigned char)*p))
			digit = *p - '0';
		else if (base == 16 && isxdigit((unsigned char)*p))
			digit = tolower((unsigned char)*p) - 'a' + 10;
		else
			return false;
		if (digit >= base)
			return false;
		v = v * base + digit;
	}
	*ret = neg ? -v : v;
	return true;
}

/* [-+]?(digits[.digits*]|.digits)([eE][-+]?digits)? */
static bool kube_yaml_float(const char *s, double *ret)
{
	const char *p = s;
	bool digits = false;
	char *end;

	if (*p == '-' || *p == '+')
		p++;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits = true;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return false;
	*ret = strtod(s, &end);
	return *end == '\0';
}

/* A scalar event's value as go-yaml types it (see kube_yaml.h). NULL on ENOMEM. */
static cJSON *kube_yaml_scalar(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on",
					    "On",   "ON",   "y",    "Y",   NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off",
					     "Off",   "OFF",   "n",     "N",  NULL};
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	double num;

	/* Only plain scalars without an explicit non-string tag are resolved ("!" is none). */
	if (tag && strcmp(tag, "!") == 0)
		tag = NULL;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag && strcmp(tag, YAML_DEFAULT_SCALAR_TAG) != 0 && strcmp(tag, YAML_INT_TAG) != 0 &&
	     strcmp(tag, YAML_FLOAT_TAG) != 0 && strcmp(tag, YAML_BOOL_TAG) != 0 &&
	     strcmp(tag, YAML_NULL_TAG) != 0))
		return cJSON_CreateString(s);
	if (strlen(s) != ev->data.scalar.length)
		return cJSON_CreateString(s); /* an embedded NUL: keep the prefix as text */
	if (kube_yaml_in(s, nulls))
		return cJSON_CreateNull();
	if (kube_yaml_in(s, trues))
		return cJSON_CreateTrue();
	if (kube_yaml_in(s, falses))
		return cJSON_CreateFalse();
	if (kube_yaml_int(s, &num) || kube_yaml_float(s, &num))
		return cJSON_CreateNumber(num);
	return cJSON_CreateString(s);
}

static int kube_yaml_error(char *err, size_t err_size, const yaml_parser_t *parser)
{
	snprintf(err, err_size, "line %zu: %s", parser->problem_mark.line + 1,
		 parser->problem ? parser->problem : "parse error");
	return parser->error == YAML_MEMORY_ERROR ? -ENOMEM : -EBADMSG;
}

/*
 * What the syntax pass learns of each document: the first top-level "kind" when it is a
 * string, so that the conversion pass knows, when it meets the items, whether they can be
 * handed on one at a time.
 */
struct kube_yaml_kinds {
	char **kind; /* per document; NULL: none, not a string, or not certain (an alias key) */
	size_t n, cap;
};

static void kube_yaml_kinds_clear(struct kube_yaml_kinds *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->kind[i]);
	free(k->kind);
	*k = (struct kube_yaml_kinds){0};
}

/* The syntax pass's view of one document's top-level mapping. */
struct kube_yaml_scan {
	unsigned depth;	  /* collections open */
	bool mapping;	  /* the root is a mapping */
	bool key_turn;	  /* the next node at depth 1 is a key */
	bool kind_next;	  /* the value about to end is the first "kind" */
	bool kind_seen;
	bool unsure;	  /* an alias key: which member is "kind" is not known */
};

/* A node that ends at depth 1 (a member of the root mapping): a key or a value. */
static int kube_yaml_scan_member(struct kube_yaml_scan *sc, const yaml_event_t *ev,
				 char **kind)
{
	if (sc->key_turn) {
		if (ev->type == YAML_ALIAS_EVENT)
			sc->unsure = true;
		sc->kind_next = !sc->kind_seen && ev->type == YAML_SCALAR_EVENT &&
				strcmp((const char *)ev->data.scalar.value, "kind") == 0;
		sc->key_turn = false;
		return 0;
	}
	sc->key_turn = true;
	if (!sc->kind_next)
		return 0;
	sc->kind_next = false;
	sc->kind_seen = true;
	if (ev->type == YAML_SCALAR_EVENT) {
		cJSON *v = kube_yaml_scalar(ev);

		if (!v)
			return -ENOMEM;
		if (cJSON_IsString(v) && !(*kind = strdup(v->valuestring))) {
			cJSON_Delete(v);
			return -ENOMEM;
		}
		cJSON_Delete(v);
	}
	return 0;
}

/*
 * Reads the stream's events to its end: its syntax is right. Notes each document's kind in
 * *kinds. 0, -EBADMSG (err filled), -ENOMEM.
 */
static int kube_yaml_check(const char *text, size_t len, struct kube_yaml_kinds *kinds,
			   char *err, size_t err_size)
{
	struct kube_yaml_scan sc = {0};
	yaml_parser_t parser;
	char *kind = NULL;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (bool end = false; !end && r == 0;) {
		yaml_event_t ev;
		bool node_end = false;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = kube_yaml_error(err, err_size, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			sc = (struct kube_yaml_scan){0};
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (kinds->n == kinds->cap) {
				size_t cap = kinds->cap ? 2 * kinds->cap : 8;
				char **grown = reallocarray(kinds->kind, cap, sizeof(*grown));

				if (!grown) {
					r = -ENOMEM;
					break;
				}
				kinds->kind = grown;
				kinds->cap = cap;
			}
			if (sc.unsure) {
				free(kind);
				kind = NULL;
			}
			kinds->kind[kinds->n++] = TAKE_PTR(kind);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (sc.depth == 0) {
				sc.mapping = ev.type == YAML_MAPPING_START_EVENT;
				sc.key_turn = true;
			}
			sc.depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			sc.depth--;
			node_end = true;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			node_end = true;
			break;
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_NO_EVENT:
		case YAML_STREAM_START_EVENT:
			break;
		}
		if (r == 0 && node_end && sc.depth == 1 && sc.mapping)
			r = kube_yaml_scan_member(&sc, &ev, &kind);
		yaml_event_delete(&ev);
	}
	free(kind);
	yaml_parser_delete(&parser);
	return r;
}

/* An anchored node, kept (a copy) for the aliases that name it, until the document ends. */
struct kube_yaml_anchor {
	UT_hash_handle hh;
	cJSON *node;
	char *raw;	 /* a scalar's text, for an alias used as a mapping key; else NULL */
	size_t nodes;	 /* its nodes, which each alias spends from the budget */
	unsigned height; /* its depth of nesting (0: a scalar) */
	char name[];
};

/* A collection being converted. */
struct kube_yaml_frame {
	cJSON *node;
	bool mapping;
	char *key;	  /* a mapping's key waiting for its value (NULL: a key comes next) */
	char *anchor;	  /* its anchor, registered when it ends */
	size_t nodes_at;  /* the node count when it began */
	unsigned height;
	bool items_seen;  /* the root mapping: its first "items" member was met */
	bool streamed;	  /* the root's items: each element goes to item_fn, not into node */
};

struct kube_yaml_conv {
	const struct kube_yaml_each_ops *ops;
	void *userdata;
	struct kube_yaml_frame *frames;
	size_t n_frames, cap_frames;
	struct kube_yaml_anchor *anchors;
	cJSON *root;
	size_t budget; /* nodes still allowed */
	size_t nodes;  /* nodes made so far */
	bool stream;   /* this document's items are to go to item_fn */
	bool streamed; /* they did */
	const char *error;
	size_t error_line; /* 0: no line */
};

static void kube_yaml_anchors_clear(struct kube_yaml_conv *c)
{
	struct kube_yaml_anchor *a, *tmp;

	HASH_ITER(hh, c->anchors, a, tmp)
	{
		HASH_DEL(c->anchors, a);
		cJSON_Delete(a->node);
		free(a->raw);
		free(a);
	}
}

static void kube_yaml_frames_clear(struct kube_yaml_conv *c)
{
	for (size_t i = 0; i < c->n_frames; i++) {
		cJSON_Delete(c->frames[i].node);
		free(c->frames[i].key);
		free(c->frames[i].anchor);
	}
	c->n_frames = 0;
	cJSON_Delete(c->root);
	c->root = NULL;
}

static int kube_yaml_fail(struct kube_yaml_conv *c, const char *error, const yaml_event_t *ev)
{
	c->error = error;
	c->error_line = ev ? ev->start_mark.line + 1 : 0;
	return strcmp(error, "out of memory") == 0 ? -ENOMEM : -EBADMSG;
}

/* Counts a node made at depth (collections around it) reaching height below it. */
static int kube_yaml_spend(struct kube_yaml_conv *c, size_t nodes, unsigned depth,
			   unsigned height)
{
	if (depth + height > KUBE_YAML_MAX_DEPTH)
		return kube_yaml_fail(c, "nested too deep (or a recursive alias)", NULL);
	if (nodes > c->budget)
		return kube_yaml_fail(c, "too many nodes (aliases expand too far)", NULL);
	c->budget -= nodes;
	c->nodes += nodes;
	return 0;
}

static int kube_yaml_anchor_add(struct kube_yaml_conv *c, const char *name, const cJSON *node,
				const char *raw, size_t nodes, unsigned height,
				const yaml_event_t *ev)
{
	struct kube_yaml_anchor *a;
	size_t len = strlen(name);

	HASH_FIND(hh, c->anchors, name, len, a);
	if (a)
		return kube_yaml_fail(c, "found duplicate anchor", ev);
	a = calloc(1, sizeof(*a) + len + 1);
	if (!a)
		return kube_yaml_fail(c, "out of memory", NULL);
	memcpy(a->name, name, len + 1);
	a->node = node ? cJSON_Duplicate(node, true) : NULL;
	a->raw = raw ? strdup(raw) : NULL;
	a->nodes = nodes;
	a->height = height;
	if ((node && !a->node) || (raw && !a->raw)) {
		cJSON_Delete(a->node);
		free(a->raw);
		free(a);
		return kube_yaml_fail(c, "out of memory", NULL);
	}
	HASH_ADD_KEYPTR(hh, c->anchors, a->name, len, a);
	return 0;
}

/*
 * Places a finished node: the document's root, a mapping's value, a sequence's element, or
 * (the root's streamed items) handed to item_fn. Takes ownership of node.
 */
static int kube_yaml_place(struct kube_yaml_conv *c, cJSON *node, unsigned height)
{
	struct kube_yaml_frame *f;
	bool ok;

	if (c->n_frames == 0) {
		c->root = node;
		return 0;
	}
	f = &c->frames[c->n_frames - 1];
	if (f->height < height + 1)
		f->height = height + 1;
	if (f->streamed)
		return c->ops->item_fn(node, c->userdata);
	if (f->mapping) {
		ok = cJSON_AddItemToObject(f->node, f->key, node);
		free(f->key);
		f->key = NULL;
	} else {
		ok = cJSON_AddItemToArray(f->node, node);
	}
	if (!ok) {
		cJSON_Delete(node);
		return kube_yaml_fail(c, "out of memory", NULL);
	}
	return 0;
}

/* Whether the next node is a key of the innermost mapping (NULL: it is not). */
static struct kube_yaml_frame *kube_yaml_key_frame(struct kube_yaml_conv *c)
{
	struct kube_yaml_frame *f = c->n_frames ? &c->frames[c->n_frames - 1] : NULL;

	return f && f->mapping && !f->key ? f : NULL;
}

static int kube_yaml_on_key(struct kube_yaml_conv *c, struct kube_yaml_frame *f,
			    const yaml_event_t *ev)
{
	const char *text = NULL;

	if (ev->type == YAML_SCALAR_EVENT) {
		text = (const char *)ev->data.scalar.value;
	} else if (ev->type == YAML_ALIAS_EVENT) {
		const char *name = (const char *)ev->data.alias.anchor;
		struct kube_yaml_anchor *a;

		HASH_FIND(hh, c->anchors, name, strlen(name), a);
		if (!a)
			return kube_yaml_fail(c, "found undefined alias", ev);
		text = a->raw;
	}
	if (!text)
		return kube_yaml_fail(c, "a mapping key is not a scalar", NULL);
	f->key = strdup(text);
	if (!f->key)
		return kube_yaml_fail(c, "out of memory", NULL);
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor)
		return kube_yaml_anchor_add(c, (const char *)ev->data.scalar.anchor, NULL, text,
					    0, 0, ev);
	return 0;
}

static int kube_yaml_on_alias(struct kube_yaml_conv *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct kube_yaml_anchor *a;
	cJSON *copy;
	int r;

	HASH_FIND(hh, c->anchors, name, strlen(name), a);
	if (!a) {
		/* Named by a collection still open: it would contain itself. */
		for (size_t i = 0; i < c->n_frames; i++)
			if (c->frames[i].anchor && strcmp(c->frames[i].anchor, name) == 0)
				return kube_yaml_fail(c, "nested too deep (or a recursive alias)",
						      NULL);
		return kube_yaml_fail(c, "found undefined alias", ev);
	}
	if (!a->node) {
		/* A key's anchor used as a value: the key's text. */
		a->node = cJSON_CreateString(a->raw);
		a->nodes = 1;
	}
	r = kube_yaml_spend(c, a->nodes, (unsigned)c->n_frames, a->height);
	if (r < 0)
		return r;
	copy = cJSON_Duplicate(a->node, true);
	if (!copy)
		return kube_yaml_fail(c, "out of memory", NULL);
	return kube_yaml_place(c, copy, a->height);
}

static int kube_yaml_on_scalar(struct kube_yaml_conv *c, const yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	cJSON *node;
	int r;

	r = kube_yaml_spend(c, 1, (unsigned)c->n_frames, 0);
	if (r < 0)
		return r;
	node = kube_yaml_scalar(ev);
	if (!node)
		return kube_yaml_fail(c, "out of memory", NULL);
	if (anchor) {
		r = kube_yaml_anchor_add(c, anchor, node, (const char *)ev->data.scalar.value, 1, 0,
					 ev);
		if (r < 0) {
			cJSON_Delete(node);
			return r;
		}
	}
	return kube_yaml_place(c, node, 0);
}

static int kube_yaml_on_start(struct kube_yaml_conv *c, const yaml_event_t *ev)
{
	bool mapping = ev->type == YAML_MAPPING_START_EVENT;
	const char *anchor = (const char *)(mapping ? ev->data.mapping_start.anchor
						    : ev->data.sequence_start.anchor);
	struct kube_yaml_frame *parent = c->n_frames ? &c->frames[c->n_frames - 1] : NULL;
	struct kube_yaml_frame *f;
	int r;

	r = kube_yaml_spend(c, 1, (unsigned)c->n_frames, 0);
	if (r < 0)
		return r;
	if (c->n_frames == c->cap_frames) {
		size_t cap = c->cap_frames ? 2 * c->cap_frames : 16;
		struct kube_yaml_frame *grown = reallocarray(c->frames, cap, sizeof(*grown));

		if (!grown)
			return kube_yaml_fail(c, "out of memory", NULL);
		c->frames = grown;
		c->cap_frames = cap;
		parent = c->n_frames ? &c->frames[c->n_frames - 1] : NULL;
	}
	f = &c->frames[c->n_frames];
	*f = (struct kube_yaml_frame){.mapping = mapping, .nodes_at = c->nodes - 1};
	/* The root's first "items", a sequence nothing else names: its elements go one by one. */
	if (c->stream && !mapping && !anchor && c->n_frames == 1 && parent->mapping &&
	    !parent->items_seen && strcmp(parent->key, "items") == 0)
		f->streamed = c->streamed = true;
	if (c->n_frames == 1 && parent->mapping && strcmp(parent->key, "items") == 0)
		parent->items_seen = true;
	f->node = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
	f->anchor = anchor ? strdup(anchor) : NULL;
	if (!f->node || (anchor && !f->anchor)) {
		cJSON_Delete(f->node);
		free(f->anchor);
		return kube_yaml_fail(c, "out of memory", NULL);
	}
	c->n_frames++;
	return 0;
}

static int kube_yaml_on_end(struct kube_yaml_conv *c, const yaml_event_t *ev)
{
	struct kube_yaml_frame f = c->frames[--c->n_frames];
	int r = 0;

	free(f.key);
	if (f.anchor)
		r = kube_yaml_anchor_add(c, f.anchor, f.node, NULL, c->nodes - f.nodes_at,
					 f.height, ev);
	free(f.anchor);
	if (r < 0) {
		cJSON_Delete(f.node);
		return r;
	}
	return kube_yaml_place(c, f.node, f.height);
}

/* One event of the conversion pass. */
static int kube_yaml_on_event(struct kube_yaml_conv *c, const yaml_event_t *ev)
{
	struct kube_yaml_frame *key = kube_yaml_key_frame(c);
	cJSON *root;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return key ? kube_yaml_on_key(c, key, ev) : kube_yaml_on_scalar(c, ev);
	case YAML_ALIAS_EVENT:
		return key ? kube_yaml_on_key(c, key, ev) : kube_yaml_on_alias(c, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (key)
			return kube_yaml_fail(c, "a mapping key is not a scalar", NULL);
		return kube_yaml_on_start(c, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return kube_yaml_on_end(c, ev);
	case YAML_DOCUMENT_END_EVENT:
		kube_yaml_anchors_clear(c);
		root = TAKE_PTR(c->root);
		if (c->streamed || !root) {
			/* Its items were handed on: the rest says nothing more. */
			cJSON_Delete(root);
			return 0;
		}
		return c->ops->doc_fn(root, c->userdata);
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
		break;
	}
	return 0;
}

int kube_yaml_each(const char *text, size_t len, const struct kube_yaml_each_ops *ops,
		   void *userdata, char *err, size_t err_size)
{
	/* Each node takes at least a byte or two of text unless aliases expand it. */
	struct kube_yaml_conv c = {.ops = ops, .userdata = userdata, .budget = 4 * len + 10000};
	struct kube_yaml_kinds kinds = {0};
	yaml_parser_t parser;
	size_t doc = 0;
	int r;

	if (err_size)
		err[0] = '\0';
	r = kube_yaml_check(text, len, &kinds, err, err_size);
	if (r < 0) {
		kube_yaml_kinds_clear(&kinds);
		return r;
	}
	if (!yaml_parser_initialize(&parser)) {
		kube_yaml_kinds_clear(&kinds);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (bool end = false; !end && r >= 0;) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = kube_yaml_error(err, err_size, &parser);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			c.streamed = false;
			c.stream = ops->item_fn && ops->stream_fn && doc < kinds.n &&
				   kinds.kind[doc] && ops->stream_fn(kinds.kind[doc], userdata);
		}
		if (ev.type == YAML_DOCUMENT_END_EVENT)
			doc++;
		r = kube_yaml_on_event(&c, &ev);
		yaml_event_delete(&ev);
	}
	if (r < 0 && c.error) {
		if (c.error_line)
			snprintf(err, err_size, "line %zu: %s", c.error_line, c.error);
		else
			snprintf(err, err_size, "%s", c.error);
	}
	kube_yaml_frames_clear(&c);
	kube_yaml_anchors_clear(&c);
	free(c.frames);
	yaml_parser_delete(&parser);
	kube_yaml_kinds_clear(&kinds);
	return r < 0 ? r : 0;
}

static int kube_yaml_on_doc(cJSON *doc, void *userdata)
{
	if (!cJSON_AddItemToArray(userdata, doc)) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	return 0;
}

int kube_yaml_parse(const char *text, size_t len, cJSON **ret_docs, char *err, size_t err_size)
{
	static const struct kube_yaml_each_ops ops = {.doc_fn = kube_yaml_on_doc};
	cJSON *docs = cJSON_CreateArray();
	int r;

	if (!docs)
		return -ENOMEM;
	r = kube_yaml_each(text, len, &ops, docs, err, err_size);
	if (r < 0) {
		cJSON_Delete(docs);
		return r;
	}
	*ret_docs = docs;
	return 0;
}

int kube_yaml_parse_json(const char *text, size_t len, cJSON **ret_docs, size_t *ret_line)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	cJSON *docs;

	if (!doc) {
		const char *at = cJSON_GetErrorPtr();
		size_t line = 1;

		for (const char *p = text; at && p < at && p < text + len; p++)
			line += *p == '\n';
		if (ret_line)
			*ret_line = line;
		return -EBADMSG;
	}
	docs = cJSON_CreateArray();
	if (!docs || !cJSON_AddItemToArray(docs, doc)) {
		cJSON_Delete(doc);
		cJSON_Delete(docs);
		return -ENOMEM;
	}
	*ret_docs = docs;
	return 0;
}
