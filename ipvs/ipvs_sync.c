/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconciler: diffs the plan's desired table against the actual table kept in memory,
 * applies the operations through an ops table (netlink, or a fake in tests), and handles the
 * kernel's answers by meaning: EEXIST, ESRCH and ENOENT re-read that one virtual server and
 * re-diff it; anything else is logged once and retried on the next sync.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/ip_vs.h>

#include "cleanup.h"
#include "log.h"

/* At most this many rounds of follow-up operations per sync; the rest waits for the next. */
#define IPVS_SYNC_ROUNDS 3

struct ipvs_owned {
	struct ipvs_key key;
	UT_hash_handle hh;
};

struct ipvs_sync {
	const struct ipvs_ops *ops;
	void *impl;
	struct ipvs_table actual;
	struct ipvs_owned *owned; /* uthash of the virtual servers kipvs owns */
	bool have_actual;
	bool verify;	    /* read the whole table before the next diff */
	bool check;	    /* check the table (ipvs_check_run()) before the next diff */
	unsigned check_slice; /* the slice of real servers the next check reads */
	ipvs_keep_fn keep;     /* draining decisions; NULL: delete at once */
	ipvs_owned_fn exclude; /* true: never delete this key even if owned */
	void *hook_userdata;
	bool part; /* this run's desired table is a part (ipvs_sync_run_part()) */
	unsigned long owned_generation; /* bumped when the owned set changes */
};

int ipvs_sync_new_with_ops(const struct ipvs_ops *ops, void *impl, struct ipvs_sync **ret_sync)
{
	struct ipvs_sync *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->impl = impl;
	*ret_sync = s;
	return 0;
}

int ipvs_sync_new(struct ipvs_ctx *ctx, struct ipvs_sync **ret_sync)
{
	return ipvs_sync_new_with_ops(&ipvs_nl_ops, ctx, ret_sync);
}

struct ipvs_sync *ipvs_sync_free(struct ipvs_sync *s)
{
	struct ipvs_owned *o, *tmp;

	if (!s)
		return NULL;
	ipvs_table_clear(&s->actual);
	HASH_ITER(hh, s->owned, o, tmp)
	{
		HASH_DEL(s->owned, o);
		free(o);
	}
	free(s);
	return NULL;
}

void ipvs_sync_request_verify(struct ipvs_sync *s)
{
	s->verify = true;
}

void ipvs_sync_request_check(struct ipvs_sync *s)
{
	s->check = true;
}

/*
 * The periodic check, timed as a read; what it found is logged at debug level. *ret_drift
 * (may be NULL): whether actual differed from the kernel.
 */
static int ipvs_sync_check(struct ipvs_sync *s, struct ipvs_sync_result *res, bool *ret_drift)
{
	struct ipvs_check_result c;
	double t0 = sync_phase_now_ms();
	int r = ipvs_check_run(s->ops, s->impl, &s->actual, &s->check_slice, &c);

	res->read_ms += sync_phase_now_ms() - t0;
	if (r < 0)
		return r;
	s->check = false;
	res->checked = true;
	if (ret_drift)
		*ret_drift = ipvs_check_found_drift(&c);
	log_debug("ipvs", "table checked",
		  "services_gone=%u services_changed=%u services_new=%u slice=%u/%u "
		  "slice_services=%u slice_drifted=%u",
		  c.services_gone, c.services_changed, c.services_new, c.slice + 1, c.slices,
		  c.services_read, c.services_drifted);
	return 0;
}

int ipvs_sync_check_only(struct ipvs_sync *s, bool *ret_drift, struct ipvs_sync_result *res)
{
	*ret_drift = !s->have_actual || s->verify;
	if (*ret_drift || !s->check)
		return 0;
	return ipvs_sync_check(s, res, ret_drift);
}

const struct ipvs_table *ipvs_sync_actual(const struct ipvs_sync *s)
{
	return &s->actual;
}

bool ipvs_sync_owns(const struct ipvs_sync *s, const struct ipvs_key *key)
{
	struct ipvs_owned *o = NULL;

	HASH_FIND(hh, s->owned, key, sizeof(*key), o);
	return o != NULL;
}

static bool ipvs_sync_owned_cb(const struct ipvs_key *key, void *userdata)
{
	struct ipvs_sync *s = userdata;

	if (s->exclude && s->exclude(key, s->hook_userdata))
		return false;
	return ipvs_sync_owns(s, key);
}

static bool ipvs_sync_keep_cb(const struct ipvs_vs *vs, const struct ipvs_rs *rs, bool vs_desired,
			      void *userdata)
{
	struct ipvs_sync *s = userdata;

	return s->keep && s->keep(vs, rs, vs_desired, s->hook_userdata);
}

static void ipvs_sync_hooks(struct ipvs_sync *s, struct ipvs_diff_hooks *ret)
{
	*ret = (struct ipvs_diff_hooks){
	    .owned = ipvs_sync_owned_cb,
	    .keep = ipvs_sync_keep_cb,
	    .userdata = s,
	    .part = s->part,
	};
}

void ipvs_sync_set_hooks(struct ipvs_sync *s, ipvs_keep_fn keep, ipvs_owned_fn exclude,
			 void *userdata)
{
	s->keep = keep;
	s->exclude = exclude;
	s->hook_userdata = userdata;
}

unsigned long ipvs_sync_owned_generation(const struct ipvs_sync *s)
{
	return s->owned_generation;
}

int ipvs_sync_owned_foreach(const struct ipvs_sync *s, ipvs_owned_fn fn, void *userdata)
{
	struct ipvs_owned *o, *tmp;
	int n = 0;

	HASH_ITER(hh, s->owned, o, tmp)
	{
		(void)fn(&o->key, userdata);
		n++;
	}
	return n;
}

int ipvs_sync_own(struct ipvs_sync *s, const struct ipvs_key *key)
{
	struct ipvs_owned *o;

	if (ipvs_sync_owns(s, key))
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->key = *key;
	HASH_ADD(hh, s->owned, key, sizeof(o->key), o);
	s->owned_generation++;
	return 0;
}

void ipvs_sync_disown(struct ipvs_sync *s, const struct ipvs_key *key)
{
	struct ipvs_owned *o = NULL;

	HASH_FIND(hh, s->owned, key, sizeof(*key), o);
	if (o) {
		HASH_DEL(s->owned, o);
		free(o);
		s->owned_generation++;
	}
}

static int ipvs_sync_read_all(struct ipvs_sync *s, struct ipvs_sync_result *res)
{
	struct ipvs_table fresh = {0};
	double t0 = sync_phase_now_ms();
	int r;

	r = s->ops->read(s->impl, &fresh);
	res->read_ms += sync_phase_now_ms() - t0;
	if (r < 0) {
		ipvs_table_clear(&fresh);
		return r;
	}
	ipvs_table_clear(&s->actual);
	s->actual = fresh;
	s->have_actual = true;
	s->verify = false;
	res->verified = true;
	return 0;
}

void ipvs_failure_note(struct ipvs_failure *failures, size_t *n_failures, const char *op, int err)
{
	for (size_t i = 0; i < *n_failures; i++)
		if (failures[i].err == err && strcmp(failures[i].op, op) == 0) {
			failures[i].n++;
			return;
		}
	if (*n_failures < IPVS_FAILURE_KINDS)
		failures[(*n_failures)++] = (struct ipvs_failure){.op = op, .err = err, .n = 1};
}

/* Counts a failed operation and logs it; it waits for the next sync. */
static void ipvs_sync_fail(const struct ipvs_op *op, struct ipvs_sync_result *res)
{
	char vs[IPVS_KEY_STRLEN], rs[IPVS_KEY_STRLEN];
	const char *errname = strerrorname_np(-op->err);
	bool dest = op->kind == IPVS_OP_DEST_ADD || op->kind == IPVS_OP_DEST_SET ||
		    op->kind == IPVS_OP_DEST_DEL;

	ipvs_key_format(&op->svc.key, vs);
	if (dest)
		ipvs_key_format(&op->dest.key, rs);
	log_warn("ipvs", "ipvs operation failed",
		 "svc=%s/%s vs=%s%s%s op=%s err=\"%s\" errno=%s retry_in=next-sync",
		 op->origin ? op->origin->svc_namespace : "-",
		 op->origin ? op->origin->svc_name : "-", vs, dest ? " rs=" : "", dest ? rs : "",
		 ipvs_op_kind_to_string(op->kind), strerror(-op->err), errname ? errname : "?");
	res->failed++;
	ipvs_failure_note(res->failures, &res->n_failures, ipvs_op_kind_to_string(op->kind),
			  op->err);
}

/* Records a successful operation in the actual table and the counters. */
static int ipvs_sync_record(struct ipvs_sync *s, const struct ipvs_op *op,
			    struct ipvs_sync_result *res)
{
	struct ipvs_vs *vs = ipvs_table_find(&s->actual, &op->svc.key);

	switch (op->kind) {
	case IPVS_OP_SERVICE_ADD:
		res->services_added++;
		return ipvs_table_put(&s->actual, &op->svc) ? ipvs_sync_own(s, &op->svc.key)
							    : -ENOMEM;
	case IPVS_OP_SERVICE_SET:
		res->services_changed++;
		return ipvs_table_put(&s->actual, &op->svc) ? 0 : -ENOMEM;
	case IPVS_OP_SERVICE_DEL:
		res->services_deleted++;
		ipvs_table_del(&s->actual, &op->svc.key);
		ipvs_sync_disown(s, &op->svc.key);
		return 0;
	case IPVS_OP_DEST_ADD:
	case IPVS_OP_DEST_SET:
		if (op->kind == IPVS_OP_DEST_ADD)
			res->dests_added++;
		else
			res->dests_changed++;
		if (!vs) /* cannot happen: the kernel accepted it, so the service exists */
			return 0;
		return ipvs_vs_put_rs(vs, &op->dest) ? 0 : -ENOMEM;
	case IPVS_OP_DEST_DEL:
		res->dests_deleted++;
		if (vs)
			ipvs_vs_del_rs(vs, &op->dest.key);
		return 0;
	case _IPVS_OP_KIND_MAX:
		break;
	}
	return 0;
}

/*
 * What an error means. Returns 1 when the virtual server must be re-read and re-diffed, 0 when
 * the error is the desired outcome (already gone), -1 when it is a real failure.
 */
static int ipvs_sync_classify(struct ipvs_sync *s, const struct ipvs_op *op)
{
	struct ipvs_vs *vs;

	switch (op->kind) {
	case IPVS_OP_SERVICE_DEL:
		if (op->err == -ESRCH) {
			ipvs_table_del(&s->actual, &op->svc.key);
			ipvs_sync_disown(s, &op->svc.key);
			return 0;
		}
		return -1;
	case IPVS_OP_DEST_DEL:
		if (op->err == -ENOENT) {
			vs = ipvs_table_find(&s->actual, &op->svc.key);
			if (vs)
				ipvs_vs_del_rs(vs, &op->dest.key);
			return 0;
		}
		return op->err == -ESRCH ? 1 : -1;
	case IPVS_OP_SERVICE_ADD:
	case IPVS_OP_DEST_ADD:
		return op->err == -EEXIST || op->err == -ESRCH ? 1 : -1;
	case IPVS_OP_SERVICE_SET:
		return op->err == -ESRCH ? 1 : -1;
	case IPVS_OP_DEST_SET:
		return op->err == -ESRCH || op->err == -ENOENT ? 1 : -1;
	case _IPVS_OP_KIND_MAX:
		break;
	}
	return -1;
}

struct ipvs_reread {
	struct ipvs_key key;
	const struct plan_vs *desired;
	UT_hash_handle hh;
};

/* Re-reads each virtual server in *rr from the kernel and appends the diff that repairs it. */
static int ipvs_sync_repair(struct ipvs_sync *s, struct ipvs_reread **rr, struct ipvs_oplist *next)
{
	struct ipvs_reread *e, *tmp;
	int r = 0;

	HASH_ITER(hh, *rr, e, tmp)
	{
		struct ipvs_table one = {0};
		struct ipvs_vs *vs, *moved;
		struct ipvs_rs *rs, *rtmp;

		HASH_DEL(*rr, e);
		if (r >= 0) {
			ipvs_table_del(&s->actual, &e->key);
			r = s->ops->read_one(s->impl, &e->key, &one);
			if (r == -ESRCH)
				r = 0;
			vs = ipvs_table_find(&one, &e->key);
			if (r >= 0 && vs) {
				moved = ipvs_table_put(&s->actual, &vs->svc);
				if (!moved)
					r = -ENOMEM;
				HASH_ITER(hh, vs->rs, rs, rtmp)
				{
					struct ipvs_rs *put =
					    moved ? ipvs_vs_put_rs(moved, &rs->dest) : NULL;

					if (!put)
						r = -ENOMEM;
					else
						put->state = rs->state;
				}
			}
			if (r >= 0) {
				struct ipvs_diff_hooks hooks;

				ipvs_sync_hooks(s, &hooks);
				/* A gone virtual server is deleted only when owned (and not
				 * excluded). */
				if (e->desired || ipvs_sync_owned_cb(&e->key, s))
					r = ipvs_diff_vs_hooks(e->desired, &e->key,
							       ipvs_table_find(&s->actual, &e->key),
							       &hooks, next);
			}
			ipvs_table_clear(&one);
		}
		free(e);
	}
	return r;
}

static int ipvs_sync_mark(struct ipvs_reread **rr, const struct ipvs_op *op)
{
	struct ipvs_reread *e = NULL;

	HASH_FIND(hh, *rr, &op->svc.key, sizeof(op->svc.key), e);
	if (e)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = op->svc.key;
	e->desired = op->kind == IPVS_OP_SERVICE_DEL ? NULL : op->origin;
	HASH_ADD(hh, *rr, key, sizeof(e->key), e);
	return 0;
}

static int ipvs_sync_adopt(struct ipvs_sync *s, const struct plan_table *desired)
{
	for (size_t i = 0; i < desired->n_vs; i++) {
		const struct plan_vs *pvs = &desired->vs[i];
		struct ipvs_key key;
		int r;

		ipvs_key_init(&key, &pvs->addr, pvs->port, ipvs_protocol_from_kube(pvs->proto));
		r = ipvs_sync_own(s, &key);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The first diff of a pass: reads the table when none is held or verify is set (counted in res),
 * makes desired's virtual servers ours (adoption), fills hooks (for later re-diffs) and computes
 * the operations into ops, timed in res->diff_ms. 0 or -errno.
 */
static int ipvs_sync_diff_first(struct ipvs_sync *s, const struct plan_table *desired,
				struct ipvs_diff_hooks *hooks, struct ipvs_oplist *ops,
				struct ipvs_sync_result *res)
{
	double t0;
	int r;

	if (!s->have_actual || s->verify) {
		r = ipvs_sync_read_all(s, res);
		if (r < 0)
			return r;
		s->check = false; /* the full read saw everything */
	} else if (s->check) {
		r = ipvs_sync_check(s, res, NULL);
		if (r < 0)
			return r;
	}
	/* The virtual servers of the desired table are ours from now on (adoption). */
	r = ipvs_sync_adopt(s, desired);
	if (r < 0)
		return r;
	ipvs_sync_hooks(s, hooks);
	t0 = sync_phase_now_ms();
	r = ipvs_diff_compute_hooks(desired, &s->actual, hooks, ops);
	res->diff_ms += sync_phase_now_ms() - t0;
	return r;
}

int ipvs_sync_run(struct ipvs_sync *s, const struct plan_table *desired,
		  struct ipvs_sync_result *ret_result)
{
	struct ipvs_sync_result res = {0};
	struct ipvs_oplist ops = {0}, next = {0};
	struct ipvs_reread *rr = NULL;
	struct ipvs_diff_hooks hooks;
	double t0;
	int r;

	r = ipvs_sync_diff_first(s, desired, &hooks, &ops, &res);
	if (r < 0)
		goto out;

	for (int round = 0; ops.n > 0; round++) {
		bool last = round == IPVS_SYNC_ROUNDS - 1;

		res.operations += ops.n;
		t0 = sync_phase_now_ms();
		r = s->ops->apply(s->impl, ops.ops, ops.n, &res.batches);
		res.apply_ms += sync_phase_now_ms() - t0;
		if (r == -ENOBUFS) {
			/* Some replies were lost: read the whole table again and re-diff. */
			res.lost_replies = true;
			ops.n = 0;
			r = ipvs_sync_read_all(s, &res);
			if (r < 0)
				goto out;
			if (last)
				break;
			r = ipvs_diff_compute_hooks(desired, &s->actual, &hooks, &ops);
			if (r < 0)
				goto out;
			continue;
		}
		if (r < 0) {
			s->verify = true;
			goto out;
		}
		for (size_t i = 0; i < ops.n; i++) {
			const struct ipvs_op *op = &ops.ops[i];
			int meaning;

			if (op->err == 0) {
				r = ipvs_sync_record(s, op, &res);
				if (r < 0)
					goto out;
				continue;
			}
			meaning = ipvs_sync_classify(s, op);
			if (meaning == 1 && !last) {
				res.repaired++;
				r = ipvs_sync_mark(&rr, op);
				if (r < 0)
					goto out;
			} else if (meaning != 0) {
				ipvs_sync_fail(op, &res);
			}
		}
		next.n = 0;
		r = ipvs_sync_repair(s, &rr, &next);
		if (r < 0)
			goto out;
		/* Swap: the follow-ups become the next round. */
		{
			struct ipvs_oplist tmp = ops;

			ops = next;
			next = tmp;
		}
	}
	r = 0;
	*ret_result = res;
out:
	while (rr) {
		struct ipvs_reread *e = rr;

		HASH_DEL(rr, e);
		free(e);
	}
	ipvs_oplist_clear(&ops);
	ipvs_oplist_clear(&next);
	return r;
}

int ipvs_sync_run_part(struct ipvs_sync *s, const struct plan_table *part,
		       struct ipvs_sync_result *ret_result)
{
	int r;

	if (!s->have_actual || s->verify || s->check)
		return -EAGAIN; /* a read is due first: that is a full sync's job */
	s->part = true;
	r = ipvs_sync_run(s, part, ret_result);
	s->part = false;
	return r;
}

int ipvs_sync_plan_diff(struct ipvs_sync *s, const struct plan_table *desired, FILE *f)
{
	struct ipvs_oplist ops = {0};
	struct ipvs_sync_result res = {0};
	struct ipvs_diff_hooks hooks;
	int r = ipvs_sync_diff_first(s, desired, &hooks, &ops, &res);

	if (r >= 0) {
		for (size_t i = 0; i < ops.n; i++)
			ipvs_op_write(&ops.ops[i], f);
		r = (int)ops.n;
	}
	ipvs_oplist_clear(&ops);
	return r;
}

bool ipvs_sync_has_actual(const struct ipvs_sync *s)
{
	return s->have_actual && !s->verify;
}

int ipvs_sync_read(struct ipvs_sync *s, struct ipvs_sync_result *res)
{
	return ipvs_sync_read_all(s, res);
}

int ipvs_sync_refresh(struct ipvs_sync *s, const struct ipvs_key *key)
{
	int r = ipvs_table_reread(s->ops, s->impl, &s->actual, key);

	return r < 0 ? r : 0;
}

int ipvs_sync_apply(struct ipvs_sync *s, struct ipvs_op *ops, size_t n_ops,
		    struct ipvs_sync_result *res)
{
	double t0 = sync_phase_now_ms();
	int r;

	res->operations += n_ops;
	r = s->ops->apply(s->impl, ops, n_ops, &res->batches);
	res->apply_ms += sync_phase_now_ms() - t0;
	if (r < 0) {
		s->verify = true;
		return r;
	}
	for (size_t i = 0; i < n_ops; i++) {
		const struct ipvs_op *op = &ops[i];

		if (op->err == 0) {
			r = ipvs_sync_record(s, op, res);
			if (r < 0)
				return r;
		} else if (ipvs_sync_classify(s, op) != 0) {
			s->verify = true;
			ipvs_sync_fail(op, res);
		}
	}
	return 0;
}
