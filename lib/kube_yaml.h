/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: YAML manifests to cJSON trees, so that one decoder serves JSON and YAML.
 * Only lib/kube_*.c include this header.
 */
#pragma once

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

/* Called with each document's tree; takes ownership of it. A negative return stops. */
typedef int (*kube_yaml_doc_fn)(cJSON *doc, void *userdata);

/*
 * Converts a YAML stream as kube_yaml_parse() does, but hands each document to fn as soon as
 * it is converted, so only one document's tree is alive at a time. The whole stream's syntax
 * is checked before the first document is converted, so a stream that does not parse calls
 * fn for none (an undefined alias, or aliases that expand too far, are found only when their
 * document is converted). Returns 0, -EBADMSG (err filled, as kube_yaml_parse()), -ENOMEM, or
 * fn's negative return.
 */
int kube_yaml_each(const char *text, size_t len, kube_yaml_doc_fn fn, void *userdata, char *err,
		   size_t err_size) __attribute__((warn_unused_result));

/*
 * Parses one JSON document into a new cJSON array holding its tree, the shape
 * kube_yaml_parse() returns. Returns 0 and the array (free with cJSON_Delete), -EBADMSG with
 * the line of the error in *ret_line (when not NULL), or -ENOMEM.
 */
int kube_yaml_parse_json(const char *text, size_t len, cJSON **ret_docs, size_t *ret_line)
	__attribute__((warn_unused_result));
