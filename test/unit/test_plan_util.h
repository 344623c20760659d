/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the plan unit tests: notes collected as text. */
#pragma once

#include <stdio.h>

#include "kube_cache.h"
#include "plan.h"

/* Notes written to an open_memstream() stream, one "kind Object ns/name: detail" line each. */
struct test_notes {
	char *buf;
	size_t size;
	FILE *stream;
};

/* A plan_note_fn; userdata is a struct test_notes whose stream is open. */
static inline void test_notes_on_note(const struct plan_note *note, void *userdata)
{
	struct test_notes *notes = userdata;

	fprintf(notes->stream, "%s %s %s/%s: %s\n", plan_note_kind_to_string(note->kind),
		kube_kind_to_string(note->object_kind), note->ns, note->name, note->detail);
}
