/* SPDX-License-Identifier: Apache-2.0 */
/* The stale UDP conntrack set of one node sync (lib/plan_ct.h). */
#include "plan_ct.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_fw.h"

static int plan_ct_keep_compare(const void *a, const void *b)
{
	const struct plan_ct_keep *x = a, *y = b;
	int c = net_addr_compare(&x->addr, &y->addr);

	return c ? c : (int)x->port - (int)y->port;
}

static int plan_ct_key_compare(const struct net_addr *vip, uint16_t port,
			       const struct plan_ct_vs *v)
{
	int c = net_addr_compare(vip, &v->vip);

	return c ? c : (int)port - (int)v->port;
}

static int plan_ct_vs_compare(const void *a, const void *b)
{
	const struct plan_ct_vs *x = a, *y = b;

	return plan_ct_key_compare(&x->vip, x->port, y);
}

int plan_ct_add(struct plan_ct *set, const struct net_addr *vip, uint16_t port,
		const struct plan_dest *keep, size_t n_keep)
{
	struct plan_ct_vs v = {.vip = *vip, .port = port, .n_keep = n_keep};

	if (set->n_vs == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct plan_ct_vs *vs = realloc(set->vs, cap * sizeof(*vs));

		if (!vs)
			return -ENOMEM;
		set->vs = vs;
		set->cap = cap;
	}
	if (n_keep) {
		v.keep = calloc(n_keep, sizeof(*v.keep));
		if (!v.keep)
			return -ENOMEM;
		for (size_t i = 0; i < n_keep; i++) {
			v.keep[i].addr = keep[i].addr;
			v.keep[i].port = keep[i].port;
		}
		/* Plan tables keep dests sorted; sorting a copy makes the set not rely on it. */
		qsort(v.keep, n_keep, sizeof(*v.keep), plan_ct_keep_compare);
	}
	set->vs[set->n_vs++] = v;
	set->sorted = false;
	return 0;
}

void plan_ct_sort(struct plan_ct *set)
{
	if (set->n_vs)
		qsort(set->vs, set->n_vs, sizeof(*set->vs), plan_ct_vs_compare);
	set->sorted = true;
}

struct plan_ct_build_state {
	struct plan_ct *set;
	int err;
};

static void plan_ct_on_udp_stale(const struct net_addr *addr, uint16_t port,
				 const struct plan_vs *now, void *userdata)
{
	struct plan_ct_build_state *st = userdata;
	int r;

	if (st->err)
		return;
	r = plan_ct_add(st->set, addr, port, now ? now->dests : NULL, now ? now->n_dests : 0);
	if (r < 0)
		st->err = r;
}

int plan_ct_build(const struct plan_table *before, const struct plan_table *after,
		  struct plan_ct *ret_set)
{
	struct plan_ct set = {0};
	struct plan_ct_build_state st = {.set = &set};

	*ret_set = (struct plan_ct){0};
	if (before)
		(void)plan_fw_udp_stale(before, after, plan_ct_on_udp_stale, &st);
	if (st.err) {
		plan_ct_clear(&set);
		return st.err;
	}
	plan_ct_sort(&set);
	*ret_set = set;
	return 0;
}

bool plan_ct_has_family(const struct plan_ct *set, int family)
{
	for (size_t i = 0; i < set->n_vs; i++)
		if (set->vs[i].vip.family == family)
			return true;
	return false;
}

/* True when the reply source is one of v's kept real servers. */
static bool plan_ct_vs_keeps(const struct plan_ct_vs *v, const struct plan_ct_entry *e)
{
	struct plan_ct_keep key = {.addr = e->reply_src, .port = e->reply_src_port};

	if (!e->reply_src.family || !v->n_keep)
		return false;
	return bsearch(&key, v->keep, v->n_keep, sizeof(*v->keep), plan_ct_keep_compare) != NULL;
}

bool plan_ct_entry_is_stale(const struct plan_ct *set, const struct plan_ct_entry *e)
{
	size_t lo = 0, hi = set->n_vs;

	assert(set->sorted || set->n_vs <= 1);
	if (e->proto != IPPROTO_UDP || !e->orig_dst.family || e->orig_dst.family != e->family)
		return false;
	/* The first virtual server not below the key: duplicates of a key sit side by side. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (plan_ct_key_compare(&e->orig_dst, e->orig_dst_port, &set->vs[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < set->n_vs &&
	       plan_ct_key_compare(&e->orig_dst, e->orig_dst_port, &set->vs[lo]) == 0;
	     lo++)
		if (!plan_ct_vs_keeps(&set->vs[lo], e))
			return true;
	return false;
}

void plan_ct_clear(struct plan_ct *set)
{
	for (size_t i = 0; i < set->n_vs; i++)
		free(set->vs[i].keep);
	free(set->vs);
	*set = (struct plan_ct){0};
}
