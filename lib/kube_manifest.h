/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: the objects of one manifest file's text (JSON or YAML), decoded a document or
 * a list item at a time so that a large file never becomes one large tree (kube_source.c).
 */
#pragma once

#include <stddef.h>

#include "kube_decode.h"

/*
 * Before each item of a JSON list document: the item's text and the list's kind ("ServiceList").
 * 1: the caller already has what this item gives (it is not parsed, fn is not called), 0:
 * decode it, or -errno (the decode stops with it).
 */
typedef int (*kube_manifest_item_fn)(const char *text, size_t len, const char *list_kind,
				     void *userdata);

/*
 * Decodes the objects in text, JSON when path ends in ".json" and YAML otherwise, handing
 * each to fn (path names the file in the decoder's document-level log lines; a document that
 * is not an object is logged and skipped). The whole text is checked first, so a file that
 * does not parse hands nothing to fn and logs nothing. Returns 0; -EBADMSG with err filled
 * ("line 3: not valid JSON") when the text does not parse (rarely found late: a \u escape
 * cJSON refuses, or YAML aliases that expand too far; then objects before it were handed to
 * fn); -ENOMEM; or fn's negative return. item_fn (NULL: none) may skip JSON list items.
 */
int kube_manifest_decode(const char *path, const char *text, size_t len,
			 kube_manifest_item_fn item_fn, kube_decode_object_fn fn, void *userdata,
			 char *err, size_t err_size)
	__attribute__((warn_unused_result));
