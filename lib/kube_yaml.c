/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML to cJSON with libyaml's document loader. Kubernetes manifests are YAML 1.1 read by
 * go-yaml, so plain scalars resolve to the types it gives them; the result feeds the same
 * decoder as JSON. Aliases are expanded under a node budget, so "billion laughs" fails cleanly.
 */
#include "kube_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cleanup.h"

#define KUBE_YAML_MAX_DEPTH 128

struct kube_yaml_conv {
	yaml_document_t *doc;
	size_t budget; /* cJSON nodes still allowed */
	const char *error;
};

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

static cJSON *kube_yaml_scalar(const yaml_node_t *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on",
					    "On",   "ON",   "y",    "Y",   NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off",
					     "Off",   "OFF",   "n",     "N",  NULL};
	const char *s = (const char *)node->data.scalar.value;
	const char *tag = (const char *)node->tag;
	double num;

	/* Only plain scalars without an explicit non-string tag are resolved. */
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag && strcmp(tag, YAML_DEFAULT_SCALAR_TAG) != 0 && strcmp(tag, YAML_INT_TAG) != 0 &&
	     strcmp(tag, YAML_FLOAT_TAG) != 0 && strcmp(tag, YAML_BOOL_TAG) != 0 &&
	     strcmp(tag, YAML_NULL_TAG) != 0))
		return cJSON_CreateString(s);
	if (strlen(s) != node->data.scalar.length)
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

static cJSON *kube_yaml_node(struct kube_yaml_conv *c, int index, int depth);

/*
 * Converts node index and adds it to out: appended to an array (key NULL) or under key. On
 * failure sets c->error and returns false; out stays the caller's to free.
 */
static bool kube_yaml_add(struct kube_yaml_conv *c, cJSON *out, const char *key, int index,
			  int depth)
{
	cJSON *child = kube_yaml_node(c, index, depth);

	if (child &&
	    (key ? cJSON_AddItemToObject(out, key, child) : cJSON_AddItemToArray(out, child)))
		return true;
	cJSON_Delete(child);
	if (!c->error)
		c->error = "out of memory";
	return false;
}

/* A sequence as an array, a mapping as an object. NULL with c->error set on failure. */
static cJSON *kube_yaml_collection(struct kube_yaml_conv *c, yaml_node_t *node, int depth)
{
	bool seq = node->type == YAML_SEQUENCE_NODE;
	cJSON *out = seq ? cJSON_CreateArray() : cJSON_CreateObject();
	bool ok = true;

	if (!out) {
		c->error = "out of memory";
		return NULL;
	}
	if (seq) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     ok && it < node->data.sequence.items.top; it++)
			ok = kube_yaml_add(c, out, NULL, *it, depth + 1);
	} else {
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     ok && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *key = yaml_document_get_node(c->doc, p->key);

			if (!key || key->type != YAML_SCALAR_NODE) {
				c->error = "a mapping key is not a scalar";
				ok = false;
				break;
			}
			ok = kube_yaml_add(c, out, (const char *)key->data.scalar.value, p->value,
					   depth + 1);
		}
	}
	if (!ok)
		out = (cJSON_Delete(out), NULL);
	return out;
}

static cJSON *kube_yaml_node(struct kube_yaml_conv *c, int index, int depth)
{
	yaml_node_t *node = yaml_document_get_node(c->doc, index);
	cJSON *out;

	if (!node) {
		c->error = "dangling node";
		return NULL;
	}
	if (depth > KUBE_YAML_MAX_DEPTH) {
		c->error = "nested too deep (or a recursive alias)";
		return NULL;
	}
	if (c->budget == 0) {
		c->error = "too many nodes (aliases expand too far)";
		return NULL;
	}
	c->budget--;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		out = kube_yaml_scalar(node);
		if (!out)
			c->error = "out of memory";
		return out;
	case YAML_SEQUENCE_NODE:
	case YAML_MAPPING_NODE:
		return kube_yaml_collection(c, node, depth);
	case YAML_NO_NODE:
		break;
	}
	c->error = "empty node";
	return NULL;
}

/* Reads the stream's events to its end: its syntax is right. 0, -EBADMSG (err filled), -ENOMEM. */
static int kube_yaml_check(const char *text, size_t len, char *err, size_t err_size)
{
	yaml_parser_t parser;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (bool end = false; !end;) {
		yaml_event_t event;

		if (!yaml_parser_parse(&parser, &event)) {
			snprintf(err, err_size, "line %zu: %s", parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "parse error");
			r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EBADMSG;
			break;
		}
		end = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return r;
}

int kube_yaml_each(const char *text, size_t len, kube_yaml_doc_fn fn, void *userdata, char *err,
		   size_t err_size)
{
	yaml_parser_t parser;
	/* Each node takes at least a byte or two of text unless aliases expand it. */
	struct kube_yaml_conv c = {.budget = 4 * len + 10000};
	int r;

	if (err_size)
		err[0] = '\0';
	r = kube_yaml_check(text, len, err, err_size);
	if (r < 0)
		return r;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;
		cJSON *tree;

		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, err_size, "line %zu: %s", parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "parse error");
			r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EBADMSG;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			/* The end of the stream. */
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		c.error = NULL;
		tree = kube_yaml_node(&c, 1, 0);
		yaml_document_delete(&doc);
		if (!tree) {
			snprintf(err, err_size, "%s", c.error ? c.error : "conversion failed");
			r = c.error && strcmp(c.error, "out of memory") == 0 ? -ENOMEM : -EBADMSG;
			break;
		}
		r = fn(tree, userdata);
		if (r < 0)
			break;
	}
	yaml_parser_delete(&parser);
	return r;
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
	cJSON *docs = cJSON_CreateArray();
	int r;

	if (!docs)
		return -ENOMEM;
	r = kube_yaml_each(text, len, kube_yaml_on_doc, docs, err, err_size);
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
