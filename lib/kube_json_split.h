/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: finds the documents of a JSON manifest and the items of their lists without
 * building a tree, so that --from parses one item at a time (kube_manifest.c).
 */
#pragma once

#include <stddef.h>

/* A byte range of the text. */
struct kube_json_span {
	size_t off, len;
};

/* One top-level value of the text. */
struct kube_json_doc {
	struct kube_json_span span;
	/* The value of its first "items" member when the document is an object and that value is
	 * an array (len 0 otherwise), and that array's elements: items[first_item ...]. */
	struct kube_json_span items;
	size_t first_item, n_items;
};

struct kube_json_split {
	struct kube_json_doc *docs;
	size_t n_docs, cap_docs;
	struct kube_json_span *items; /* of every document, in order */
	size_t n_items, cap_items;
};

/*
 * Checks that text is a sequence of JSON values (RFC 8259; whitespace, or nothing, between
 * them; a leading UTF-8 BOM is skipped; nesting at most 1000 deep, as cJSON) and records in
 * *split (which must be zeroed or cleared) where each value and each element of each
 * document's items array lies. Returns 0; -EBADMSG with the offset of the first byte that is
 * wrong (or len, for text cut short) in *ret_err_off (when not NULL); or -ENOMEM. On failure
 * *split holds what was found before the error; clear it either way.
 */
int kube_json_split_run(const char *text, size_t len, struct kube_json_split *split,
			size_t *ret_err_off) __attribute__((warn_unused_result));

/*
 * The text of doc (of text) with "[]" in place of its items array (the whole document when it
 * has none): what is left to parse once the items are parsed one by one. 0 or -ENOMEM.
 */
int kube_json_doc_shell(const char *text, const struct kube_json_doc *doc, char **ret_text,
			size_t *ret_len) __attribute__((warn_unused_result));

/* Frees what a split holds and zeroes it. */
void kube_json_split_clear(struct kube_json_split *split);
