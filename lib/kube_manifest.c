/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifest text to decoded objects, one item at a time. A JSON file is first checked and
 * split by kube_json_split.c; each document is then parsed by cJSON without its items (a
 * "shell" that says what kind of list it is), and each item on its own, so only one item's
 * tree is alive at a time. A YAML file is converted one document, or one item of a list, at
 * a time (kube_yaml.c).
 */
#include "kube_manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "kube_json_split.h"
#include "kube_yaml.h"

struct kube_manifest {
	const char *path;
	const char *text;
	size_t len;
	kube_manifest_item_fn item_fn;
	kube_decode_object_fn fn;
	void *userdata;
	char *err;
	size_t err_size;
	char *list_kind; /* the YAML list being streamed; NULL: a list of other kinds */
};

static void kube_manifest_cjson_deletep(cJSON **tree)
{
	cJSON_Delete(*tree);
}

static void kube_manifest_split_clearp(struct kube_json_split *split)
{
	kube_json_split_clear(split);
}

static bool kube_manifest_is_json(const char *path)
{
	size_t len = strlen(path);

	return len > 5 && strcmp(path + len - 5, ".json") == 0;
}

static int kube_manifest_bad_json(struct kube_manifest *m, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off && i < m->len; i++)
		line += m->text[i] == '\n';
	(void)snprintf(m->err, m->err_size, "line %zu: not valid JSON", line);
	return -EBADMSG;
}

/*
 * Parses text (at text_off in the file, for the error's line) with cJSON. 0 and *ret_tree
 * (the caller deletes it), or -EBADMSG (err filled) for what the scanner let through and
 * cJSON does not take (a lone UTF-16 surrogate), and when cJSON runs out of memory (it does
 * not tell that apart; a whole-file parse did the same).
 */
static int kube_manifest_parse(struct kube_manifest *m, const char *text, size_t len,
			       size_t text_off, cJSON **ret_tree)
{
	cJSON *tree = cJSON_ParseWithLength(text, len);
	const char *at;

	if (tree) {
		*ret_tree = tree;
		return 0;
	}
	at = cJSON_GetErrorPtr();
	if (!at || at < text || at > text + len)
		at = text;
	return kube_manifest_bad_json(m, text_off + (size_t)(at - text));
}

/* A document's decode result as the file sees it: a skipped document does not void it. */
static int kube_manifest_doc_result(int r)
{
	return r == -EBADMSG ? 0 : r < 0 ? r : 0;
}

/* The items of a list document, each parsed and decoded on its own. */
static int kube_manifest_json_items(struct kube_manifest *m, const struct kube_json_split *split,
				    const struct kube_json_doc *doc, const char *list_kind)
{
	for (size_t i = 0; i < doc->n_items; i++) {
		const struct kube_json_span *span = &split->items[doc->first_item + i];
		_cleanup_(kube_manifest_cjson_deletep) cJSON *item = NULL;
		int r;

		if (m->item_fn) {
			r = m->item_fn(m->text + span->off, span->len, list_kind, m->userdata);
			if (r < 0)
				return r;
			if (r > 0)
				continue;
		}
		r = kube_manifest_parse(m, m->text + span->off, span->len, span->off, &item);
		if (r < 0)
			return r;
		r = kube_decode_item(item, list_kind, m->fn, m->userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One top-level JSON value. 0, or as kube_manifest_decode(). */
static int kube_manifest_json_doc(struct kube_manifest *m, const struct kube_json_split *split,
				  const struct kube_json_doc *doc)
{
	_cleanup_(kube_manifest_cjson_deletep) cJSON *shell = NULL;
	_cleanup_(kube_manifest_cjson_deletep) cJSON *whole = NULL;
	_cleanup_free_ char *text = NULL;
	const char *list_kind = NULL;
	size_t len;
	int r;

	if (doc->items.len == 0) {
		/* No items array to leave out: an object or a stray scalar, parsed whole. */
		r = kube_manifest_parse(m, m->text + doc->span.off, doc->span.len, doc->span.off,
					&whole);
		if (r < 0)
			return r;
		return kube_manifest_doc_result(
		    kube_decode_document(whole, m->path, m->fn, m->userdata));
	}
	/* The document with "[]" in place of its items array. */
	if (kube_json_doc_shell(m->text, doc, &text, &len) < 0)
		return -ENOMEM;
	r = kube_manifest_parse(m, text, len, doc->span.off, &shell);
	if (r < 0)
		return r;
	r = kube_decode_document_shape(shell, m->path, &list_kind);
	if (r < 0)
		return kube_manifest_doc_result(r);
	switch ((enum kube_doc_shape)r) {
	case KUBE_DOC_EMPTY:
		return 0;
	case KUBE_DOC_LIST:
		return kube_manifest_json_items(m, split, doc, list_kind);
	case KUBE_DOC_OBJECT:
		/* Not a list: an object that happens to have an items member, decoded whole. */
		r = kube_manifest_parse(m, m->text + doc->span.off, doc->span.len, doc->span.off,
					&whole);
		if (r < 0)
			return r;
		return kube_manifest_doc_result(kube_decode_item(whole, NULL, m->fn, m->userdata));
	case _KUBE_DOC_SHAPE_MAX:
		break;
	}
	return -EINVAL;
}

static int kube_manifest_json(struct kube_manifest *m)
{
	_cleanup_(kube_manifest_split_clearp) struct kube_json_split split = {0};
	size_t err_off = 0;
	int r;

	r = kube_json_split_run(m->text, m->len, &split, &err_off);
	if (r == -EBADMSG)
		return kube_manifest_bad_json(m, err_off);
	for (size_t i = 0; r == 0 && i < split.n_docs; i++)
		r = kube_manifest_json_doc(m, &split, &split.docs[i]);
	return r;
}

static int kube_manifest_on_yaml_doc(cJSON *doc, void *userdata)
{
	_cleanup_(kube_manifest_cjson_deletep) cJSON *tree = doc;
	struct kube_manifest *m = userdata;

	return kube_manifest_doc_result(kube_decode_document(tree, m->path, m->fn, m->userdata));
}

/*
 * Whether a YAML document of this kind is a list whose items can be decoded one at a time:
 * asks the decoder, with the kind alone, what kube_decode_document() would make of it.
 */
static bool kube_manifest_on_yaml_kind(const char *kind, void *userdata)
{
	_cleanup_(kube_manifest_cjson_deletep) cJSON *shell = cJSON_CreateObject();
	struct kube_manifest *m = userdata;
	const char *list_kind = NULL;
	int r;

	if (!shell || !cJSON_AddStringToObject(shell, "kind", kind) ||
	    !cJSON_AddArrayToObject(shell, "items"))
		return false; /* out of memory: the document is converted whole, as before */
	r = kube_decode_document_shape(shell, m->path, &list_kind);
	if (r != KUBE_DOC_LIST && r != KUBE_DOC_EMPTY)
		return false;
	free(m->list_kind);
	m->list_kind = r == KUBE_DOC_LIST ? strdup(list_kind) : NULL;
	return r == KUBE_DOC_EMPTY || m->list_kind;
}

/* An item of a YAML list (kube_manifest_on_yaml_kind said so); a list of other kinds: dropped. */
static int kube_manifest_on_yaml_item(cJSON *item, void *userdata)
{
	_cleanup_(kube_manifest_cjson_deletep) cJSON *tree = item;
	struct kube_manifest *m = userdata;
	int r;

	if (!m->list_kind)
		return 0;
	r = kube_decode_item(tree, m->list_kind, m->fn, m->userdata);
	return r < 0 ? r : 0;
}

int kube_manifest_decode(const char *path, const char *text, size_t len,
			 kube_manifest_item_fn item_fn, kube_decode_object_fn fn, void *userdata,
			 char *err, size_t err_size)
{
	struct kube_manifest m = {
	    .path = path,
	    .text = text,
	    .len = len,
	    .item_fn = item_fn,
	    .fn = fn,
	    .userdata = userdata,
	    .err = err,
	    .err_size = err_size,
	};
	static const struct kube_yaml_each_ops yaml_ops = {
	    .doc_fn = kube_manifest_on_yaml_doc,
	    .stream_fn = kube_manifest_on_yaml_kind,
	    .item_fn = kube_manifest_on_yaml_item,
	};
	int r;

	if (err_size)
		err[0] = '\0';
	if (kube_manifest_is_json(path))
		return kube_manifest_json(&m);
	r = kube_yaml_each(text, len, &yaml_ops, &m, err, err_size);
	free(m.list_kind);
	return r;
}
