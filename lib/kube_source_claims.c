/* SPDX-License-Identifier: Apache-2.0 */
/* The file source's claims: a count of givers per object (kube_source_claims.h). */
#include "kube_source_claims.h"

#include <stdlib.h>
#include <string.h>

/* The claim key of an object, built in buf (at least `size` bytes) or, when longer, on the heap. */
static char *kube_source_claim_key(char *buf, size_t size, enum kube_kind kind, const char *ns,
				   const char *name, size_t *ret_len)
{
	size_t ns_len = strlen(ns), len = 1 + ns_len + 1 + strlen(name);
	char *key = len <= size ? buf : malloc(len);

	if (!key)
		return NULL;
	key[0] = (char)kind;
	memcpy(key + 1, ns, ns_len + 1);
	memcpy(key + 2 + ns_len, name, len - 2 - ns_len);
	*ret_len = len;
	return key;
}

static struct kube_source_claim *kube_source_claim_find(const struct kube_source_claims *claims,
							enum kube_kind kind, const char *ns,
							const char *name)
{
	char buf[320], *key;
	struct kube_source_claim *c = NULL;
	size_t len;

	key = kube_source_claim_key(buf, sizeof(buf), kind, ns, name, &len);
	if (!key)
		return NULL;
	HASH_FIND(hh, claims->hash, key, len, c);
	if (key != buf)
		free(key);
	return c;
}

struct kube_source_claim *kube_source_claims_add(struct kube_source_claims *claims,
						 enum kube_kind kind, const char *ns,
						 const char *name)
{
	struct kube_source_claim *c = kube_source_claim_find(claims, kind, ns, name);
	char buf[320], *key;
	size_t len;

	if (c) {
		if (c->count++ == 1)
			claims->n_multi++;
		return c;
	}
	key = kube_source_claim_key(buf, sizeof(buf), kind, ns, name, &len);
	c = key ? malloc(sizeof(*c) + len) : NULL;
	if (c) {
		memcpy(c->key, key, len);
		c->count = 1;
		c->last_file = 0;
		c->len = len;
		HASH_ADD_KEYPTR(hh, claims->hash, c->key, len, c);
	}
	if (key != buf)
		free(key);
	return c;
}

size_t kube_source_claims_drop(struct kube_source_claims *claims, enum kube_kind kind,
			       const char *ns, const char *name)
{
	struct kube_source_claim *c = kube_source_claim_find(claims, kind, ns, name);

	if (!c)
		return 0;
	if (c->count-- == 2)
		claims->n_multi--;
	if (c->count > 0)
		return c->count;
	HASH_DEL(claims->hash, c);
	free(c);
	return 0;
}

size_t kube_source_claims_count(const struct kube_source_claims *claims, enum kube_kind kind,
				const char *ns, const char *name)
{
	const struct kube_source_claim *c = kube_source_claim_find(claims, kind, ns, name);

	return c ? c->count : 0;
}

void kube_source_claims_clear(struct kube_source_claims *claims)
{
	struct kube_source_claim *c, *tmp;

	HASH_ITER(hh, claims->hash, c, tmp)
	{
		HASH_DEL(claims->hash, c);
		free(c);
	}
	claims->n_multi = 0;
}
