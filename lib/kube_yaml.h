/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: YAML manifests to cJSON trees, so that one decoder serves JSON and YAML.
 * Only lib/kube_*.c include this header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Parses a YAML stream (one or more documents) into a new cJSON array holding one tree per
 * document (an empty document is null). Plain scalars resolve as Kubernetes' YAML reader does
 * (YAML 1.1 core: null/~, true/false/yes/no/on/off/y/n, decimal/hex/octal integers, floats);
 * quoted scalars stay strings. Returns 0 and the array (free with cJSON_Delete), -EBADMSG
 * with a description ("line 3: mapping values are not allowed here") in err when the text is
 * not YAML or expands beyond a bound on aliases and nesting, or -ENOMEM.
 */
int kube_yaml_parse(const char *text, size_t len, cJSON **ret_docs, char *err, size_t err_size)
	__attribute__((warn_unused_result));

/* What kube_yaml_each() hands on. Each callback's negative return stops the stream. */
struct kube_yaml_each_ops {
	/* A document's tree; takes ownership of it. */
	int (*doc_fn)(cJSON *doc, void *userdata);
	/*
	 * Optional. Asked, for a document whose first top-level "kind" is the string kind,
	 * whether its items are to be handed on one at a time. If so, each element of the
	 * document's first top-level "items" sequence goes to item_fn (taking ownership) as soon
	 * as it is converted, and the document itself is not handed on (unless "items" was no
	 * sequence, or had an anchor).
	 */
	bool (*stream_fn)(const char *kind, void *userdata);
	int (*item_fn)(cJSON *item, void *userdata);
};

/*
 * Converts a YAML stream as kube_yaml_parse() does, but hands each document (or list item,
 * see ops) on as soon as it is converted, so only one document's or item's tree is alive at a
 * time (and copies of the anchored nodes, until their document ends). The whole stream's
 * syntax is checked before the first document is converted, so a stream that does not parse
 * hands on nothing (an undefined alias, or aliases that expand too far, are found only when
 * their document is converted). Returns 0, -EBADMSG (err filled, as kube_yaml_parse()),
 * -ENOMEM, or a callback's negative return.
 */
int kube_yaml_each(const char *text, size_t len, const struct kube_yaml_each_ops *ops,
		   void *userdata, char *err, size_t err_size) __attribute__((warn_unused_result));

/*
 * Parses one JSON document into a new cJSON array holding its tree, the shape
 * kube_yaml_parse() returns. Returns 0 and the array (free with cJSON_Delete), -EBADMSG with
 * the line of the error in *ret_line (when not NULL), or -ENOMEM.
 */
int kube_yaml_parse_json(const char *text, size_t len, cJSON **ret_docs, size_t *ret_line)
	__attribute__((warn_unused_result));
