/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the JSON scanner that splits --from manifests into items (lib/kube_json_split.c),
 * and checks it against cJSON: whatever it accepts, cJSON parses too (each document, and each
 * item on its own), with as many items as the document's first "items" array holds; spans
 * stay inside the text. Then the whole --from path (kube_manifest_decode, as JSON and as YAML)
 * on the same bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kube_json_split.h"
#include "kube_manifest.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_span(const struct kube_json_span *span, size_t size)
{
	if (span->len == 0 || span->off > size || span->len > size - span->off)
		abort();
}

static void fuzz_check_parses(const char *text, const struct kube_json_span *span,
			      int want_items)
{
	cJSON *tree = cJSON_ParseWithLength(text + span->off, span->len);
	const cJSON *items;

	if (!tree)
		abort();
	if (want_items >= 0) {
		items = cJSON_GetObjectItemCaseSensitive(tree, "items");
		if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) != want_items)
			abort();
	}
	cJSON_Delete(tree);
}

static int fuzz_on_object(struct kube_object *obj, void *userdata)
{
	kube_object_clear(obj);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_stream(fopen("/dev/null", "we"));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct kube_json_split split = {0};
	size_t off = 0;
	char err[128];
	int r;

	r = kube_json_split_run(text, size, &split, &off);
	if (r == 0) {
		/* cJSON refuses lone UTF-16 surrogates, which the scanner lets through. */
		bool escapes = memmem(text, size, "\\u", 2) != NULL;

		for (size_t d = 0; d < split.n_docs; d++) {
			const struct kube_json_doc *doc = &split.docs[d];

			fuzz_check_span(&doc->span, size);
			if (doc->items.len)
				fuzz_check_span(&doc->items, size);
			if (doc->first_item + doc->n_items > split.n_items)
				abort();
			if (!escapes)
				fuzz_check_parses(text, &doc->span,
						  doc->items.len ? (int)doc->n_items : -1);
			for (size_t i = 0; i < doc->n_items; i++) {
				const struct kube_json_span *it = &split.items[doc->first_item + i];

				fuzz_check_span(it, size);
				if (it->off <= doc->items.off ||
				    it->off + it->len >= doc->items.off + doc->items.len)
					abort();
				if (!escapes)
					fuzz_check_parses(text, it, -1);
			}
		}
	} else if (r == -EBADMSG && off > size) {
		abort();
	}
	kube_json_split_clear(&split);
	(void)kube_manifest_decode("fuzz.json", text, size, NULL, fuzz_on_object, NULL, err,
				   sizeof(err));
	/* The YAML path too (JSON is YAML), item by item; libyaml is slow on large inputs. */
	if (size <= 65536)
		(void)kube_manifest_decode("fuzz.yaml", text, size, NULL, fuzz_on_object, NULL, err,
					   sizeof(err));
	return 0;
}
