/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconcile diff: desired table (the plan) against the actual table, giving the fewest
 * operations that make the kernel match. Pure: no kernel, no clock; the reconciler applies the
 * result and the unit tests check it operation by operation.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "cleanup.h"

static int ipvs_key_order(const void *a, const void *b)
{
	return ipvs_key_compare(a, b);
}

static int ipvs_vs_ptr_order(const void *a, const void *b)
{
	const struct ipvs_vs *const *x = a, *const *y = b;

	return ipvs_key_compare(&(*x)->svc.key, &(*y)->svc.key);
}

static bool ipvs_dest_attrs_equal(const struct ipvs_dest *a, const struct ipvs_dest *b)
{
	return a->weight == b->weight &&
	       (a->fwd & IP_VS_CONN_F_FWD_MASK) == (b->fwd & IP_VS_CONN_F_FWD_MASK) &&
	       a->u_thresh == b->u_thresh && a->l_thresh == b->l_thresh;
}

static int ipvs_diff_push(struct ipvs_oplist *ops, enum ipvs_op_kind kind,
			  const struct ipvs_service *svc, const struct ipvs_dest *dest,
			  const struct plan_vs *origin)
{
	struct ipvs_op op = {.kind = kind, .svc = *svc, .origin = origin};

	if (dest)
		op.dest = *dest;
	return ipvs_oplist_append(ops, &op);
}

/*
 * A real server of an owned virtual server that is no longer desired: kept at weight 0 when the
 * keep hook says it drains (a SET only if its weight is not 0 yet), deleted otherwise.
 */
static int ipvs_diff_leaving(const struct ipvs_diff_hooks *h, const struct ipvs_vs *actual,
			     const struct ipvs_service *svc, const struct ipvs_key *rs_key,
			     bool vs_desired, const struct plan_vs *origin, struct ipvs_oplist *ops,
			     bool *ret_kept)
{
	const struct ipvs_rs *rs = ipvs_vs_find_rs(actual, rs_key);
	struct ipvs_dest dest = {.key = *rs_key};

	if (h && h->keep && rs && h->keep(actual, rs, vs_desired, h->userdata)) {
		*ret_kept = true;
		if (rs->dest.weight == 0)
			return 0;
		dest = rs->dest;
		dest.weight = 0;
		return ipvs_diff_push(ops, IPVS_OP_DEST_SET, svc, &dest, origin);
	}
	return ipvs_diff_push(ops, IPVS_OP_DEST_DEL, svc, &dest, origin);
}

/* Deletes (or drains), in key order, the real servers of `actual` that `desired` does not list. */
static int ipvs_diff_stale_dests(const struct plan_vs *desired, const struct ipvs_service *svc,
				 const struct ipvs_vs *actual, const struct ipvs_diff_hooks *h,
				 struct ipvs_oplist *ops, bool *ret_kept)
{
	_cleanup_free_ struct ipvs_key *want = NULL;
	_cleanup_free_ struct ipvs_key *stale = NULL;
	size_t n_want = desired ? desired->n_dests : 0, n_stale = 0, n_rs = HASH_COUNT(actual->rs);
	struct ipvs_rs *rs, *tmp;
	int r;

	want = calloc(n_want ? n_want : 1, sizeof(*want));
	stale = calloc(n_rs ? n_rs : 1, sizeof(*stale));
	if (!want || !stale)
		return -ENOMEM;
	for (size_t i = 0; i < n_want; i++)
		ipvs_key_init(&want[i], &desired->dests[i].addr, desired->dests[i].port, 0);
	qsort(want, n_want, sizeof(*want), ipvs_key_order);
	HASH_ITER(hh, actual->rs, rs, tmp)
	{
		if (!n_want || !bsearch(&rs->dest.key, want, n_want, sizeof(*want), ipvs_key_order))
			stale[n_stale++] = rs->dest.key;
	}
	qsort(stale, n_stale, sizeof(*stale), ipvs_key_order);
	for (size_t i = 0; i < n_stale; i++) {
		r = ipvs_diff_leaving(h, actual, svc, &stale[i], desired != NULL, desired, ops,
				      ret_kept);
		if (r < 0)
			return r;
	}
	return 0;
}

int ipvs_diff_vs_hooks(const struct plan_vs *desired, const struct ipvs_key *key,
		       const struct ipvs_vs *actual, const struct ipvs_diff_hooks *h,
		       struct ipvs_oplist *ops)
{
	struct ipvs_service svc;
	size_t matched = 0;
	bool kept = false;
	int r;

	(void)key;
	if (!desired) {
		struct ipvs_oplist drains = {0};

		if (!actual)
			return 0;
		svc = actual->svc;
		/* A virtual server that is gone stays while some of its real servers drain. */
		if (h && h->keep && HASH_COUNT(actual->rs) > 0) {
			r = ipvs_diff_stale_dests(NULL, &svc, actual, h, &drains, &kept);
			for (size_t i = 0; r >= 0 && kept && i < drains.n; i++)
				r = ipvs_oplist_append(ops, &drains.ops[i]);
			ipvs_oplist_clear(&drains);
			if (r < 0 || kept)
				return r;
		}
		return ipvs_diff_push(ops, IPVS_OP_SERVICE_DEL, &svc, NULL, NULL);
	}
	ipvs_service_from_plan(desired, &svc);
	if (!actual) {
		r = ipvs_diff_push(ops, IPVS_OP_SERVICE_ADD, &svc, NULL, desired);
	} else if (!ipvs_service_attrs_equal(&svc, &actual->svc)) {
		r = ipvs_diff_push(ops, IPVS_OP_SERVICE_SET, &svc, NULL, desired);
	} else {
		r = 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < desired->n_dests; i++) {
		struct ipvs_dest dest;
		const struct ipvs_rs *rs;

		ipvs_dest_from_plan(&desired->dests[i], &dest);
		rs = actual ? ipvs_vs_find_rs(actual, &dest.key) : NULL;
		if (!rs)
			r = ipvs_diff_push(ops, IPVS_OP_DEST_ADD, &svc, &dest, desired);
		else if (!ipvs_dest_attrs_equal(&dest, &rs->dest))
			r = ipvs_diff_push(ops, IPVS_OP_DEST_SET, &svc, &dest, desired);
		if (r < 0)
			return r;
		if (rs)
			matched++;
	}
	/* Every actual real server was matched: nothing to delete, and no scan needed. */
	if (!actual || matched == HASH_COUNT(actual->rs))
		return 0;
	return ipvs_diff_stale_dests(desired, &svc, actual, h, ops, &kept);
}

int ipvs_diff_vs(const struct plan_vs *desired, const struct ipvs_key *key,
		 const struct ipvs_vs *actual, struct ipvs_oplist *ops)
{
	return ipvs_diff_vs_hooks(desired, key, actual, NULL, ops);
}

int ipvs_diff_compute(const struct plan_table *desired, const struct ipvs_table *actual,
		      ipvs_owned_fn owned, void *userdata, struct ipvs_oplist *ops)
{
	const struct ipvs_diff_hooks h = {.owned = owned, .userdata = userdata};

	return ipvs_diff_compute_hooks(desired, actual, &h, ops);
}

int ipvs_diff_compute_hooks(const struct plan_table *desired, const struct ipvs_table *actual,
			    const struct ipvs_diff_hooks *h, struct ipvs_oplist *ops)
{
	_cleanup_free_ struct ipvs_key *want = NULL;
	_cleanup_free_ struct ipvs_vs **gone = NULL;
	size_t n_gone = 0, matched = 0;
	struct ipvs_vs *vs, *tmp;
	int r;

	want = calloc(desired->n_vs ? desired->n_vs : 1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < desired->n_vs; i++) {
		const struct plan_vs *pvs = &desired->vs[i];
		struct ipvs_key *key = &want[i];

		ipvs_key_init(key, &pvs->addr, pvs->port, ipvs_protocol_from_kube(pvs->proto));
		vs = ipvs_table_find(actual, key);
		if (vs)
			matched++;
		r = ipvs_diff_vs_hooks(pvs, key, vs, h, ops);
		if (r < 0)
			return r;
	}
	if (h->part || matched == HASH_COUNT(actual->vs))
		return 0;

	qsort(want, desired->n_vs, sizeof(*want), ipvs_key_order);
	gone = calloc(HASH_COUNT(actual->vs), sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	HASH_ITER(hh, actual->vs, vs, tmp)
	{
		if (bsearch(&vs->svc.key, want, desired->n_vs, sizeof(*want), ipvs_key_order))
			continue;
		if (!h->owned || !h->owned(&vs->svc.key, h->userdata))
			continue;
		gone[n_gone++] = vs;
	}
	/* Deterministic order: by key. */
	qsort(gone, n_gone, sizeof(*gone), ipvs_vs_ptr_order);
	for (size_t i = 0; i < n_gone; i++) {
		r = ipvs_diff_vs_hooks(NULL, &gone[i]->svc.key, gone[i], h, ops);
		if (r < 0)
			return r;
	}
	return 0;
}
