/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet path's desired sets (plan_fw_build() of the plan) and whether a sync changed
 * them. A full build walks every virtual server and real server (110 000 elements at 10 000
 * Services x 10); an endpoint change of one Service usually leaves the sets as they were (a
 * weight is in no set), so each Service's elements are remembered as a digest, and a sync whose
 * changed Services all give the digests they gave last time keeps the sets without a build.
 */
#include "daemon_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "plan_fw.h"

/* A Service's digest: the sum of its won virtual servers' plan_fw_vs_digest(). */
struct daemon_fw_digest {
	UT_hash_handle hh;
	uint64_t sum;
	char key[]; /* "ns/name" */
};

static void daemon_fw_digests_clear(struct daemon_fw_digest **set)
{
	struct daemon_fw_digest *e, *tmp;

	HASH_ITER(hh, *set, e, tmp)
	{
		HASH_DEL(*set, e);
		free(e);
	}
}

void daemon_fw_forget(struct daemon *d)
{
	plan_fw_clear(&d->fw_desired);
	d->have_fw_desired = false;
	daemon_fw_digests_clear(&d->fw_digests);
}

static uint64_t daemon_fw_digest_of(const struct daemon *d, const char *key)
{
	struct daemon_fw_digest *e;

	HASH_FIND_STR(d->fw_digests, key, e);
	return e ? e->sum : 0;
}

/* Whether vs is won by Service key ("ns/name"). */
static bool daemon_fw_owned_by(const struct plan_vs *vs, const char *key)
{
	size_t n = vs->svc_namespace ? strlen(vs->svc_namespace) : 0;

	return vs->svc_namespace && vs->svc_name && strncmp(key, vs->svc_namespace, n) == 0 &&
	       key[n] == '/' && strcmp(key + n + 1, vs->svc_name) == 0;
}

/* Service key's digest now: its claims that win in view. 0 or -ENOMEM. */
static int daemon_fw_digest_now(const struct daemon *d, const struct plan_fw_input *fin,
				const char *key, uint64_t *ret_sum)
{
	const struct plan_table *claims = plan_merge_service_plan(d->plan, key);
	uint64_t sum = 0;

	for (size_t i = 0; claims && i < claims->n_vs; i++) {
		const struct plan_vs *won = plan_table_find(fin->plan, &claims->vs[i]);
		uint64_t digest;
		int r;

		if (!won || !daemon_fw_owned_by(won, key))
			continue;
		r = plan_fw_vs_digest(fin, won, &digest);
		if (r < 0)
			return r;
		sum += digest;
	}
	*ret_sum = sum;
	return 0;
}

struct daemon_fw_collect {
	struct daemon_fw_digest *set;
	int err;
};

static void daemon_fw_collect_one(const struct plan_vs *vs, uint64_t digest, void *userdata)
{
	struct daemon_fw_collect *c = userdata;
	struct daemon_fw_digest *e;
	char key[512];
	size_t len;

	if (c->err < 0 || !vs->svc_namespace || !vs->svc_name)
		return;
	len = (size_t)snprintf(key, sizeof(key), "%s/%s", vs->svc_namespace, vs->svc_name);
	if (len >= sizeof(key))
		return; /* longer than any Kubernetes name: that Service is never found (rebuilt) */
	HASH_FIND_STR(c->set, key, e);
	if (!e) {
		e = calloc(1, sizeof(*e) + len + 1);
		if (!e) {
			c->err = -ENOMEM;
			return;
		}
		memcpy(e->key, key, len + 1);
		HASH_ADD_STR(c->set, key, e);
	}
	e->sum += digest;
}

static bool daemon_fw_equal(const struct plan_fw *a, const struct plan_fw *b)
{
	if (a->n_elems != b->n_elems)
		return false;
	for (size_t i = 0; i < a->n_elems; i++)
		if (plan_fw_elem_compare(&a->elems[i], &b->elems[i]) != 0)
			return false;
	return true;
}

/* The full build, with every Service's digest. 1 (differ), 0 (same) or -errno. */
static int daemon_fw_build(struct daemon *d, const struct plan_fw_input *fin)
{
	struct daemon_fw_collect c = {0};
	struct plan_fw built = {0};
	bool same;
	int r = plan_fw_build_each(fin, &built, daemon_fw_collect_one, &c);

	if (r >= 0 && c.err < 0)
		r = c.err;
	if (r < 0) {
		plan_fw_clear(&built);
		daemon_fw_digests_clear(&c.set);
		daemon_fw_forget(d);
		return r;
	}
	same = d->have_fw_desired && daemon_fw_equal(&built, &d->fw_desired);
	daemon_fw_forget(d);
	d->fw_desired = built;
	d->fw_digests = c.set;
	d->have_fw_desired = true;
	return !same;
}

int daemon_fw_refresh(struct daemon *d, const struct plan_table *view, char **keys,
		      size_t n_keys, bool all)
{
	const struct plan_fw_input fin = {
	    .plan = view,
	    .cache = d->cache,
	    .node_addrs = d->node_addrs,
	    .n_node_addrs = d->n_node_addrs,
	};
	bool same = d->have_fw_desired && !all;

	for (size_t i = 0; same && i < n_keys; i++) {
		uint64_t sum;

		same = daemon_fw_digest_now(d, &fin, keys[i], &sum) == 0 &&
		       sum == daemon_fw_digest_of(d, keys[i]);
	}
	return same ? 0 : daemon_fw_build(d, &fin);
}
