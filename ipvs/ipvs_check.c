/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic check of the kernel's IPVS table (ipvs_internal.h), cheaper than a full read:
 * one dump of the virtual servers, and the real servers of one slice of them. A dump of every
 * real server every period is what made a large idle table cost a core (110 000 entries: one
 * destination dump per virtual server); drift in the virtual servers (deleted, changed, the
 * whole table cleared) is still found at the next period, drift in real servers within
 * IPVS_CHECK_SLICES_MAX periods (docs/operations.md: the drift window).
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <string.h>

/* Every table up to this many virtual servers has all its real servers read each period. */
#define IPVS_CHECK_SLICE_MIN 256
/* A larger one in at most this many slices: the real servers' drift window, in periods. */
#define IPVS_CHECK_SLICES_MAX 10

static bool ipvs_check_service_same(const struct ipvs_service *a, const struct ipvs_service *b)
{
	return strcmp(a->sched, b->sched) == 0 && a->flags == b->flags &&
	       a->timeout == b->timeout && a->netmask == b->netmask;
}

/* The key's slice: FNV-1a of its bytes (struct ipvs_key has no padding), modulo n. */
static unsigned ipvs_check_slice_of(const struct ipvs_key *key, unsigned n)
{
	const uint8_t *p = (const uint8_t *)key;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % n;
}

bool ipvs_check_found_drift(const struct ipvs_check_result *res)
{
	return res->services_gone || res->services_changed || res->services_new ||
	       res->services_drifted;
}

unsigned ipvs_check_slices(size_t n_vs)
{
	size_t n = (n_vs + IPVS_CHECK_SLICE_MIN - 1) / IPVS_CHECK_SLICE_MIN;

	return n < 1 ? 1 : n > IPVS_CHECK_SLICES_MAX ? IPVS_CHECK_SLICES_MAX : (unsigned)n;
}

static bool ipvs_check_dest_same(const struct ipvs_dest *a, const struct ipvs_dest *b)
{
	return memcmp(&a->key, &b->key, sizeof(a->key)) == 0 && a->fwd == b->fwd &&
	       a->weight == b->weight && a->u_thresh == b->u_thresh && a->l_thresh == b->l_thresh;
}

/* The same virtual server with the same real servers (what kipvs sets; not the counters). */
static bool ipvs_check_vs_same(const struct ipvs_vs *a, const struct ipvs_vs *b)
{
	struct ipvs_rs *rs, *tmp, *other;

	if (!a || !b)
		return a == b;
	if (!ipvs_check_service_same(&a->svc, &b->svc) || HASH_COUNT(a->rs) != HASH_COUNT(b->rs))
		return false;
	HASH_ITER(hh, a->rs, rs, tmp)
	{
		HASH_FIND(hh, b->rs, &rs->dest.key, sizeof(rs->dest.key), other);
		if (!other || !ipvs_check_dest_same(&rs->dest, &other->dest))
			return false;
	}
	return true;
}

int ipvs_table_reread(const struct ipvs_ops *ops, void *impl, struct ipvs_table *t,
		      const struct ipvs_key *key)
{
	struct ipvs_table one = {0};
	struct ipvs_vs *vs, *moved;
	struct ipvs_rs *rs, *tmp;
	bool same;
	int r;

	r = ops->read_one(impl, key, &one);
	if (r < 0 && r != -ESRCH) {
		ipvs_table_clear(&one);
		return r;
	}
	vs = ipvs_table_find(&one, key);
	same = ipvs_check_vs_same(ipvs_table_find(t, key), vs);
	ipvs_table_del(t, key);
	r = 0;
	if (vs) {
		moved = ipvs_table_put(t, &vs->svc);
		if (!moved)
			r = -ENOMEM;
		else
			moved->stats = vs->stats;
		HASH_ITER(hh, vs->rs, rs, tmp)
		{
			struct ipvs_rs *put = moved ? ipvs_vs_put_rs(moved, &rs->dest) : NULL;

			if (!put) {
				r = -ENOMEM;
				break;
			}
			put->state = rs->state;
		}
	}
	ipvs_table_clear(&one);
	return r < 0 ? r : !same;
}

int ipvs_check_run(const struct ipvs_ops *ops, void *impl, struct ipvs_table *actual,
		   unsigned *slice, struct ipvs_check_result *res)
{
	struct ipvs_table fresh = {0};
	struct ipvs_vs *vs, *got, *tmp;
	unsigned n_slices;
	int r;

	*res = (struct ipvs_check_result){0};
	r = ops->read_services(impl, &fresh);
	if (r < 0)
		goto out;
	/* Gone from the kernel or changed there (by hand, or by another program). */
	HASH_ITER(hh, actual->vs, vs, tmp)
	{
		got = ipvs_table_find(&fresh, &vs->svc.key);
		if (!got) {
			ipvs_table_del(actual, &vs->svc.key);
			res->services_gone++;
			continue;
		}
		if (!ipvs_check_service_same(&vs->svc, &got->svc)) {
			vs->svc = got->svc;
			res->services_changed++;
		}
		vs->stats = got->stats;
	}
	/* New in the kernel (read in full), and this period's slice of real servers. */
	n_slices = ipvs_check_slices(HASH_COUNT(fresh.vs));
	*slice %= n_slices;
	HASH_ITER(hh, fresh.vs, got, tmp)
	{
		bool known = ipvs_table_find(actual, &got->svc.key) != NULL;

		if (known && ipvs_check_slice_of(&got->svc.key, n_slices) != *slice)
			continue;
		r = ipvs_table_reread(ops, impl, actual, &got->svc.key);
		if (r < 0)
			goto out;
		if (known) {
			res->services_read++;
			res->services_drifted += r;
		} else {
			res->services_new++;
		}
	}
	r = 0;
	res->slice = *slice;
	res->slices = n_slices;
	*slice = (*slice + 1) % n_slices;
out:
	ipvs_table_clear(&fresh);
	return r;
}
