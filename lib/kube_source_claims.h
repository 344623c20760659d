/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file source's claims: how many times the files give each object (kind, namespace,
 * name), kept from one pass to the next. A pass that finds no object given twice can then
 * apply only what the changed files changed, without a walk over every object of every file.
 * lib-internal.
 */
#pragma once

#include <stddef.h>

#include <uthash.h>

#include "kube_cache.h"

/* One object and who gives it. */
struct kube_source_claim {
	UT_hash_handle hh;
	size_t count;	  /* how many times the files give it */
	size_t last_file; /* scratch of a pass over every file: index + 1 of the last giver */
	size_t len;
	char key[]; /* kind byte, namespace, NUL, name */
};

struct kube_source_claims {
	struct kube_source_claim *hash;
	size_t n_multi; /* claims with count > 1 */
};

/* Counts one more giver of the object; its claim, or NULL on ENOMEM. */
struct kube_source_claim *kube_source_claims_add(struct kube_source_claims *claims,
						 enum kube_kind kind, const char *ns,
						 const char *name);

/*
 * Counts one giver fewer; at none the claim goes. The count left: 0 when nothing gives the
 * object any more (or it was never counted).
 */
size_t kube_source_claims_drop(struct kube_source_claims *claims, enum kube_kind kind,
			       const char *ns, const char *name);

/* How many times the files give the object. */
size_t kube_source_claims_count(const struct kube_source_claims *claims, enum kube_kind kind,
				const char *ns, const char *name);

/* Empties the claims. */
void kube_source_claims_clear(struct kube_source_claims *claims);
