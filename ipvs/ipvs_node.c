/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node: ties the reconciler, the VIP binding, the sysctls and the state file together into
 * what `kipvs run` (once or as a daemon) and `kipvs cleanup` need: load IPVS, hold the
 * per-network-namespace lock, own exactly what kipvs created, drain TCP real servers that
 * leave, and bind an address only while a virtual server uses it.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/ip_vs.h>
#include <netinet/in.h>

#include "cleanup.h"
#include "log.h"

extern char **environ;

enum ipvs_node_keep_mode {
	IPVS_NODE_KEEP_DISCOVER, /* note which virtual servers need fresh counters; keep all */
	IPVS_NODE_KEEP_DECIDE,	 /* drain, keep draining, or delete, by fresh counters */
	IPVS_NODE_KEEP_CHECK,	 /* a recorded drainer is expected at weight 0 */
};

struct ipvs_node_key {
	struct ipvs_key key;
	UT_hash_handle hh;
};

struct ipvs_node {
	struct ipvs_node_config cfg;
	char *ifname, *scheduler, *proc_root;
	struct net_prefix *exclude;
	struct ipvs_ctx *ctx; /* NULL when driven through ops (tests) */
	const struct ipvs_ops *ops;
	void *impl;
	struct ipvs_sync *sync;
	struct ipvs_vip *vip; /* NULL: no address management (read-only, tests) */
	bool vip_refresh;     /* verification requested: read the node's addresses again */
	struct ipvs_state state;
	bool have_state_file; /* state_dir given: the file is read and written */
	uint64_t (*now_ms)(void);
	enum ipvs_node_keep_mode mode;
	bool fresh_all;	 /* counters of the whole actual table are fresh */
	bool fresh_next; /* the table was read at open: fresh for the first sync */
	struct ipvs_node_key *need_refresh; /* DISCOVER: virtual servers to re-read */
	struct ipvs_state_addr *want_addrs; /* addresses of the last desired table */
	unsigned long saved_generation;
	int keep_err; /* ENOMEM inside the keep hook */
	bool clean;   /* the last sync ran and every operation of it succeeded */
	bool part;    /* this pass's desired table is a part (ipvs_node_sync_part()) */
};

static uint64_t ipvs_node_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 3, 4)))
ipvs_node_err(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

static bool ipvs_node_key_is_excluded(const struct ipvs_node *node, const struct ipvs_key *key)
{
	struct net_addr a;

	ipvs_key_to_net_addr(key, &a);
	for (size_t i = 0; i < node->cfg.n_exclude_cidrs; i++)
		if (net_prefix_contains(&node->exclude[i], &a))
			return true;
	return false;
}

static bool ipvs_node_excluded_cb(const struct ipvs_key *key, void *userdata)
{
	return ipvs_node_key_is_excluded(userdata, key);
}

static bool ipvs_node_owned_cb(const struct ipvs_key *key, void *userdata)
{
	struct ipvs_node *node = userdata;

	return ipvs_sync_owns(node->sync, key) && !ipvs_node_key_is_excluded(node, key);
}

static int ipvs_node_keyset_add(struct ipvs_node_key **set, const struct ipvs_key *key)
{
	struct ipvs_node_key *e = NULL;

	HASH_FIND(hh, *set, key, sizeof(*key), e);
	if (e)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = *key;
	HASH_ADD(hh, *set, key, sizeof(e->key), e);
	return 0;
}

static void ipvs_node_keyset_clear(struct ipvs_node_key **set)
{
	struct ipvs_node_key *e, *tmp;

	HASH_ITER(hh, *set, e, tmp)
	{
		HASH_DEL(*set, e);
		free(e);
	}
}

static bool ipvs_node_drain_expired(const struct ipvs_node *node, const struct ipvs_state_drain *d)
{
	uint64_t now = node->now_ms();

	return now >= d->since_ms && now - d->since_ms >= node->cfg.drain_timeout_ms;
}

/*
 * The keep hook (ipvs_diff_hooks): a real server that left the desired table. TCP ones drain
 * when the drain timeout is not 0 and they still have connections; a drainer goes once idle
 * or expired. UDP and SCTP ones go at once.
 */
static bool ipvs_node_keep_cb(const struct ipvs_vs *vs, const struct ipvs_rs *rs, bool vs_desired,
			      void *userdata)
{
	struct ipvs_node *node = userdata;
	struct ipvs_state_drain *d;
	uint32_t conns = rs->state.active_conns + rs->state.inact_conns;

	if (vs->svc.key.protocol != IPPROTO_TCP || node->cfg.drain_timeout_ms == 0)
		return false;
	d = ipvs_state_drain_find(&node->state, &vs->svc.key, &rs->dest.key);
	switch (node->mode) {
	case IPVS_NODE_KEEP_DISCOVER:
		if (!node->fresh_all && ipvs_node_keyset_add(&node->need_refresh, &vs->svc.key) < 0)
			node->keep_err = -ENOMEM;
		return true;
	case IPVS_NODE_KEEP_CHECK:
		return d != NULL;
	case IPVS_NODE_KEEP_DECIDE:
		break;
	}
	if (d && (conns == 0 || ipvs_node_drain_expired(node, d))) {
		ipvs_state_drain_del(&node->state, d);
		return false;
	}
	if (!d) {
		if (conns == 0)
			return false; /* nothing to wait for */
		d = ipvs_state_drain_add(&node->state, &vs->svc.key, &rs->dest.key, node->now_ms());
		if (!d) {
			node->keep_err = -ENOMEM;
			return false;
		}
	}
	d->vs_gone = !vs_desired;
	d->seen = true;
	return true;
}

/* The addresses every virtual server of a table uses (owned or foreign). */
static int ipvs_node_table_addrs(const struct ipvs_table *t, struct ipvs_state_addr **ret)
{
	struct ipvs_vs *vs, *tmp;
	struct net_addr a;

	HASH_ITER(hh, t->vs, vs, tmp)
	{
		ipvs_key_to_net_addr(&vs->svc.key, &a);
		if (ipvs_state_addrset_add(ret, &a) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Logs and counts each failed address of a batch; the first error, or 0. */
static int ipvs_node_addrs_failed(struct ipvs_node *node, const struct net_addr *addrs,
				  const int *errs, size_t n, bool bind, struct ipvs_node_result *res)
{
	char buf[NET_ADDR_STRLEN];
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		if (errs[i] >= 0)
			continue;
		log_warn("ipvs", bind ? "bind address failed" : "unbind address failed",
			 "addr=%s if=%s err=\"%s\" retry_in=next-sync",
			 net_addr_format(&addrs[i], buf), node->ifname, strerror(-errs[i]));
		ipvs_failure_note(res->sync.failures, &res->sync.n_failures,
				  bind ? "add_address" : "del_address", errs[i]);
		if (!first)
			first = errs[i];
	}
	return first;
}

/*
 * Unbinds the addresses kipvs bound that neither the desired table nor any virtual server in
 * the kernel (a draining one of kipvs's, or a foreign one) uses any more, in batches.
 */
static int ipvs_node_addrs_release(struct ipvs_node *node, struct ipvs_node_result *res)
{
	struct ipvs_state_addr *used = NULL, *a, *tmp;
	_cleanup_free_ struct net_addr *unused = NULL;
	_cleanup_free_ int *errs = NULL;
	size_t n_unused = 0, n_bound = HASH_COUNT(node->state.addrs);
	int r, first;

	if (!node->vip || n_bound == 0)
		return 0;
	unused = calloc(n_bound, sizeof(*unused));
	errs = calloc(n_bound, sizeof(*errs));
	if (!unused || !errs)
		return -ENOMEM;
	r = ipvs_node_table_addrs(ipvs_sync_actual(node->sync), &used);
	if (r < 0)
		goto out;
	HASH_ITER(hh, node->state.addrs, a, tmp)
	{
		if (!ipvs_state_addrset_find(node->want_addrs, &a->addr) &&
		    !ipvs_state_addrset_find(used, &a->addr))
			unused[n_unused++] = a->addr;
	}
	if (n_unused == 0)
		goto out;
	r = ipvs_vip_unbind_many(node->vip, unused, n_unused, errs);
	first = ipvs_node_addrs_failed(node, unused, errs, n_unused, false, res);
	for (size_t i = 0; i < n_unused; i++) {
		if (errs[i] < 0)
			continue;
		ipvs_state_addr_del(&node->state, &unused[i]);
		res->addresses_deleted++;
	}
	if (first)
		r = first;
out:
	ipvs_state_addrset_clear(&used);
	return r;
}

/*
 * Verification of the addresses: reads the dummy interface's and the other interfaces' addresses
 * again, so that an address someone deleted is bound again by the sync that follows, and an
 * address that came to or left another interface is treated as the node's own or not. A dummy
 * interface that vanished is created again (and recorded as kipvs's). A failed read is logged
 * and retried at the next sync. True when the addresses differ from the last read, or could not
 * be read.
 */
static bool ipvs_node_addrs_refresh(struct ipvs_node *node, struct ipvs_node_result *res)
{
	bool recreated = false;
	int r;

	if (!node->vip || !node->vip_refresh)
		return false;
	r = ipvs_vip_refresh(node->vip, &recreated);
	if (r < 0) {
		log_warn("ipvs", "read addresses failed", "if=%s err=\"%s\" retry_in=next-sync",
			 node->ifname, strerror(-r));
		ipvs_failure_note(res->sync.failures, &res->sync.n_failures, "read_addresses", r);
		return true;
	}
	node->vip_refresh = false;
	if (recreated) {
		log_warn("ipvs", "dummy interface was gone, created again", "if=%s", node->ifname);
		node->state.dirty = node->state.dirty || !node->state.link_created;
		node->state.link_created = true;
	}
	return r > 0;
}

/*
 * Binds every address of the desired table (not the node's own) before its services exist,
 * the missing ones in batches.
 */
static int ipvs_node_addrs_bind(struct ipvs_node *node, const struct plan_table *desired,
				struct ipvs_node_result *res)
{
	_cleanup_free_ struct net_addr *missing = NULL;
	_cleanup_free_ int *errs = NULL;
	size_t n_missing = 0;
	int r, first;

	ipvs_state_addrset_clear(&node->want_addrs);
	if (node->vip) {
		missing = calloc(desired->n_vs + 1, sizeof(*missing));
		errs = calloc(desired->n_vs + 1, sizeof(*errs));
		if (!missing || !errs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < desired->n_vs; i++) {
		const struct net_addr *addr = &desired->vs[i].addr;

		r = ipvs_state_addrset_add(&node->want_addrs, addr);
		if (r < 0)
			return r;
		if (r == 0 || !node->vip || ipvs_vip_is_local_elsewhere(node->vip, addr))
			continue; /* already seen, or not ours to bind */
		if (ipvs_vip_has(node->vip, addr)) {
			/* Bound by kipvs, or adopted: the desired table names it. */
			r = ipvs_state_addr_add(&node->state, addr);
			if (r < 0)
				return r;
			continue;
		}
		missing[n_missing++] = *addr;
	}
	if (n_missing == 0)
		return 0;
	r = ipvs_vip_bind_many(node->vip, missing, n_missing, errs);
	first = ipvs_node_addrs_failed(node, missing, errs, n_missing, true, res);
	for (size_t i = 0; i < n_missing; i++) {
		if (errs[i] < 0)
			continue;
		res->addresses_added++;
		if (ipvs_state_addr_add(&node->state, &missing[i]) < 0)
			return -ENOMEM;
	}
	return first ? first : r;
}

static bool ipvs_node_disown_absent_cb(const struct ipvs_key *key, void *userdata)
{
	struct ipvs_node_key **gone = userdata;

	(void)ipvs_node_keyset_add(gone, key);
	return true;
}

/* Forgets owned keys no longer in the kernel, and drain records whose server went. */
static void ipvs_node_prune(struct ipvs_node *node)
{
	const struct ipvs_table *actual = ipvs_sync_actual(node->sync);
	struct ipvs_node_key *all = NULL, *e, *tmp;
	struct ipvs_state_drain *d, *dtmp;

	(void)ipvs_sync_owned_foreach(node->sync, ipvs_node_disown_absent_cb, &all);
	HASH_ITER(hh, all, e, tmp)
	{
		if (!ipvs_table_find(actual, &e->key))
			ipvs_sync_disown(node->sync, &e->key);
	}
	ipvs_node_keyset_clear(&all);
	HASH_ITER(hh, node->state.drains, d, dtmp)
	{
		struct ipvs_vs *vs = ipvs_table_find(actual, &d->pair.vs);

		if (!d->seen || !vs || !ipvs_vs_find_rs(vs, &d->pair.rs))
			ipvs_state_drain_del(&node->state, d);
	}
}

static void ipvs_node_state_save(struct ipvs_node *node)
{
	unsigned long gen = ipvs_sync_owned_generation(node->sync);
	int r;

	if (!node->have_state_file || node->cfg.read_only)
		return;
	if (!node->state.dirty && gen == node->saved_generation)
		return;
	r = ipvs_state_save(&node->state, node->sync);
	if (r < 0) {
		log_warn("ipvs", "cannot write the state file",
			 "path=%s err=\"%s\" retry_in=next-sync", node->state.path, strerror(-r));
		return;
	}
	node->saved_generation = gen;
}

unsigned ipvs_node_draining_count(const struct ipvs_node *node)
{
	return HASH_COUNT(node->state.drains);
}

static void ipvs_node_merge_result(struct ipvs_sync_result *into, const struct ipvs_sync_result *r)
{
	into->services_added += r->services_added;
	into->services_changed += r->services_changed;
	into->services_deleted += r->services_deleted;
	into->dests_added += r->dests_added;
	into->dests_changed += r->dests_changed;
	into->dests_deleted += r->dests_deleted;
	into->operations += r->operations;
	into->batches += r->batches;
	into->repaired += r->repaired;
	into->failed += r->failed;
	for (size_t i = 0; i < r->n_failures; i++)
		for (unsigned k = 0; k < r->failures[i].n; k++)
			ipvs_failure_note(into->failures, &into->n_failures, r->failures[i].op,
					  r->failures[i].err);
	into->verified |= r->verified;
	into->lost_replies |= r->lost_replies;
	into->read_ms += r->read_ms;
	into->diff_ms += r->diff_ms;
	into->apply_ms += r->apply_ms;
}

/*
 * Makes the counters of every virtual server that has a leaving or draining real server fresh:
 * a full read did that already; otherwise a discovery diff names them and each is re-read.
 */
static int ipvs_node_refresh_leaving(struct ipvs_node *node, const struct plan_table *desired)
{
	const struct ipvs_diff_hooks hooks = {.owned = ipvs_node_owned_cb,
					      .keep = ipvs_node_keep_cb,
					      .userdata = node,
					      .part = node->part};
	struct ipvs_oplist ops = {0};
	struct ipvs_node_key *e, *tmp;
	int r;

	if (node->fresh_all || node->cfg.drain_timeout_ms == 0)
		return 0;
	node->mode = IPVS_NODE_KEEP_DISCOVER;
	r = ipvs_diff_compute_hooks(desired, ipvs_sync_actual(node->sync), &hooks, &ops);
	ipvs_oplist_clear(&ops);
	if (r >= 0)
		r = node->keep_err;
	HASH_ITER(hh, node->need_refresh, e, tmp)
	{
		if (r >= 0)
			r = ipvs_sync_refresh(node->sync, &e->key);
	}
	ipvs_node_keyset_clear(&node->need_refresh);
	return r;
}

/*
 * The start of a pass over desired (a sync or a plan diff): reads the kernel table when none is
 * held (the read counted in *ret_read), then makes the leaving real servers' counters fresh.
 * 0 or -errno.
 */
static int ipvs_node_pass_begin(struct ipvs_node *node, const struct plan_table *desired,
				struct ipvs_sync_result *ret_read)
{
	node->keep_err = 0;
	node->fresh_all = node->fresh_next && ipvs_sync_has_actual(node->sync);
	node->fresh_next = false;
	if (!ipvs_sync_has_actual(node->sync)) {
		int r = ipvs_sync_read(node->sync, ret_read);

		if (r < 0)
			return r;
		node->fresh_all = true;
	}
	return ipvs_node_refresh_leaving(node, desired);
}

/*
 * The end of a sync pass (record_t0: when its record phase began): the state file, the
 * reconciler's timings, the counts; the pass is clean when nothing failed (addrs_ok: the
 * addresses included) and no reply was lost.
 */
static void ipvs_node_pass_end(struct ipvs_node *node, struct ipvs_node_result *res,
			       const struct ipvs_sync_result *sres, double t0, double record_t0,
			       bool addrs_ok, struct ipvs_node_result *ret_result)
{
	ipvs_node_state_save(node);
	sync_phase_add_since(&res->phases, SYNC_PHASE_RECORD, record_t0);
	res->phases.ms[SYNC_PHASE_READ] += sres->read_ms;
	res->phases.ms[SYNC_PHASE_DIFF] += sres->diff_ms;
	res->phases.ms[SYNC_PHASE_IPVS] += sres->apply_ms;
	res->draining = ipvs_node_draining_count(node);
	res->took_ms = sync_phase_now_ms() - t0;
	node->clean = res->sync.failed == 0 && res->sync.n_failures == 0 && addrs_ok &&
		      !res->sync.lost_replies;
	if (ret_result)
		*ret_result = *res;
}

int ipvs_node_sync(struct ipvs_node *node, const struct plan_table *desired,
		   struct ipvs_node_result *ret_result)
{
	struct ipvs_node_result res = {0};
	struct ipvs_sync_result sres = {0};
	struct ipvs_state_drain *d, *dtmp;
	double t0 = sync_phase_now_ms(), t;
	int r, addr_err;

	if (node->cfg.read_only)
		return -EROFS;
	node->clean = false;
	r = ipvs_node_pass_begin(node, desired, &res.sync);
	if (r < 0)
		return r;
	/* The whole start of the pass is reading: the table, the leaving servers' counters. */
	sync_phase_add_since(&res.phases, SYNC_PHASE_READ, t0);

	t = sync_phase_now_ms();
	(void)ipvs_node_addrs_refresh(node, &res);
	addr_err = ipvs_node_addrs_bind(node, desired, &res);
	sync_phase_add_since(&res.phases, SYNC_PHASE_VIPS, t);
	if (addr_err == -ENOMEM)
		return addr_err;

	HASH_ITER(hh, node->state.drains, d, dtmp)
	d->seen = false;
	node->mode = IPVS_NODE_KEEP_DECIDE;
	r = ipvs_sync_run(node->sync, desired, &sres);
	if (r < 0)
		return r;
	if (node->keep_err < 0)
		return node->keep_err;
	ipvs_node_merge_result(&res.sync, &sres);
	t = sync_phase_now_ms();
	ipvs_node_prune(node);
	sync_phase_add_since(&res.phases, SYNC_PHASE_RECORD, t);
	t = sync_phase_now_ms();
	(void)ipvs_node_addrs_release(node, &res);
	sync_phase_add_since(&res.phases, SYNC_PHASE_VIPS, t);
	t = sync_phase_now_ms();
	ipvs_node_pass_end(node, &res, &sres, t0, t, addr_err == 0, ret_result);
	return 0;
}

static int ipvs_node_key_order(const void *a, const void *b)
{
	return ipvs_key_compare(a, b);
}

/* The part's sorted keys, for telling whether a drain record is one of its servers'. */
static int ipvs_node_part_keys(const struct plan_table *part, struct ipvs_key **ret)
{
	struct ipvs_key *keys = calloc(part->n_vs ? part->n_vs : 1, sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < part->n_vs; i++)
		ipvs_key_init(&keys[i], &part->vs[i].addr, part->vs[i].port,
			      ipvs_protocol_from_kube(part->vs[i].proto));
	qsort(keys, part->n_vs, sizeof(*keys), ipvs_node_key_order);
	*ret = keys;
	return 0;
}

int ipvs_node_sync_part(struct ipvs_node *node, const struct plan_table *desired,
			const struct plan_table *part, struct ipvs_node_result *ret_result)
{
	_cleanup_free_ struct ipvs_key *keys = NULL;
	struct ipvs_node_result res = {0};
	struct ipvs_sync_result sres = {0};
	struct ipvs_state_drain *d, *dtmp;
	double t0 = sync_phase_now_ms(), t;
	int r;

	/* A read is due, or the last sync left something to retry: that is a full sync's job. */
	if (node->cfg.read_only || !node->clean || node->vip_refresh ||
	    !ipvs_sync_has_actual(node->sync) || ipvs_node_part_keys(part, &keys) < 0)
		return ipvs_node_sync(node, desired, ret_result);
	node->clean = false;
	node->keep_err = 0;
	node->fresh_all = false;
	node->part = true;
	r = ipvs_node_refresh_leaving(node, part);
	sync_phase_add_since(&res.phases, SYNC_PHASE_READ, t0);
	/* The part's drainers are decided again; every other one stays as it is. */
	HASH_ITER(hh, node->state.drains, d, dtmp)
	{
		if (bsearch(&d->pair.vs, keys, part->n_vs, sizeof(*keys), ipvs_node_key_order))
			d->seen = false;
	}
	node->mode = IPVS_NODE_KEEP_DECIDE;
	if (r >= 0)
		r = ipvs_sync_run_part(node->sync, part, &sres);
	node->part = false;
	if (r == -EAGAIN)
		return ipvs_node_sync(node, desired, ret_result);
	if (r < 0)
		return r;
	if (node->keep_err < 0)
		return node->keep_err;
	ipvs_node_merge_result(&res.sync, &sres);
	t = sync_phase_now_ms();
	HASH_ITER(hh, node->state.drains, d, dtmp)
	{
		if (!d->seen &&
		    bsearch(&d->pair.vs, keys, part->n_vs, sizeof(*keys), ipvs_node_key_order))
			ipvs_state_drain_del(&node->state, d);
	}
	ipvs_node_pass_end(node, &res, &sres, t0, t, true, ret_result);
	return 0;
}

int ipvs_node_check_only(struct ipvs_node *node, bool *ret_drift,
			 struct ipvs_node_result *ret_result)
{
	struct ipvs_node_result res = {0};
	double t0 = sync_phase_now_ms(), t;
	bool drift = !node->clean;
	int r = 0;

	if (!drift)
		r = ipvs_sync_check_only(node->sync, &drift, &res.sync);
	sync_phase_add_since(&res.phases, SYNC_PHASE_READ, t0);
	if (r < 0)
		return r;
	t = sync_phase_now_ms();
	if (!drift)
		drift = ipvs_node_addrs_refresh(node, &res);
	sync_phase_add_since(&res.phases, SYNC_PHASE_VIPS, t);
	res.draining = ipvs_node_draining_count(node);
	res.took_ms = sync_phase_now_ms() - t0;
	*ret_drift = drift;
	if (ret_result)
		*ret_result = res;
	return 0;
}

int ipvs_node_drain_sweep(struct ipvs_node *node, struct ipvs_node_result *ret_result)
{
	struct ipvs_node_result res = {0};
	struct ipvs_node_key *vss = NULL, *e, *tmp;
	struct ipvs_state_drain *d, *dtmp;
	struct ipvs_oplist ops = {0};
	double t0 = sync_phase_now_ms();
	int r = 0;

	if (node->cfg.read_only)
		return -EROFS;
	HASH_ITER(hh, node->state.drains, d, dtmp)
	{
		r = ipvs_node_keyset_add(&vss, &d->pair.vs);
		if (r < 0)
			goto out;
	}
	HASH_ITER(hh, vss, e, tmp)
	{
		const struct ipvs_vs *vs;
		struct ipvs_rs *rs, *rtmp;
		size_t n_rs, n_go = 0, first_op;
		bool gone = false;

		r = ipvs_sync_refresh(node->sync, &e->key);
		if (r < 0)
			goto out;
		vs = ipvs_table_find(ipvs_sync_actual(node->sync), &e->key);
		first_op = ops.n;
		n_rs = vs ? HASH_COUNT(vs->rs) : 0;
		HASH_ITER(hh, node->state.drains, d, dtmp)
		{
			if (memcmp(&d->pair.vs, &e->key, sizeof(e->key)) != 0)
				continue;
			rs = vs ? ipvs_vs_find_rs(vs, &d->pair.rs) : NULL;
			if (!rs) {
				ipvs_state_drain_del(&node->state, d);
				continue;
			}
			gone = gone || d->vs_gone;
			if (rs->state.active_conns + rs->state.inact_conns > 0 &&
			    !ipvs_node_drain_expired(node, d))
				continue;
			struct ipvs_op op = {.kind = IPVS_OP_DEST_DEL, .svc = vs->svc};

			op.dest.key = d->pair.rs;
			r = ipvs_oplist_append(&ops, &op);
			if (r < 0)
				goto out;
			ipvs_state_drain_del(&node->state, d);
			n_go++;
		}
		(void)rtmp;
		/* The last drainer of a deleted Service's virtual server: the server goes. */
		if (vs && gone && n_go == n_rs && n_go > 0 && ipvs_node_owned_cb(&e->key, node)) {
			struct ipvs_op op = {.kind = IPVS_OP_SERVICE_DEL, .svc = vs->svc};

			ops.n = first_op;
			r = ipvs_oplist_append(&ops, &op);
			if (r < 0)
				goto out;
		}
	}
	if (ops.n > 0) {
		r = ipvs_sync_apply(node->sync, ops.ops, ops.n, &res.sync);
		if (r < 0)
			goto out;
		(void)ipvs_node_addrs_release(node, &res);
	}
	ipvs_node_state_save(node);
	res.draining = ipvs_node_draining_count(node);
	res.took_ms = sync_phase_now_ms() - t0;
	if (ret_result)
		*ret_result = res;
	r = 0;
out:
	ipvs_node_keyset_clear(&vss);
	ipvs_oplist_clear(&ops);
	return r;
}

void ipvs_node_request_verify(struct ipvs_node *node)
{
	ipvs_sync_request_check(node->sync);
	node->vip_refresh = true;
}

bool ipvs_node_matches(struct ipvs_node *node, const struct plan_table *desired)
{
	const struct ipvs_diff_hooks hooks = {
	    .owned = ipvs_node_owned_cb, .keep = ipvs_node_keep_cb, .userdata = node};
	struct ipvs_table fresh = {0};
	struct ipvs_oplist ops = {0};
	bool match;
	int r;

	r = node->ops->read(node->impl, &fresh);
	if (r >= 0) {
		node->mode = IPVS_NODE_KEEP_CHECK;
		r = ipvs_diff_compute_hooks(desired, &fresh, &hooks, &ops);
	}
	match = r >= 0 && ops.n == 0;
	for (size_t i = 0; r >= 0 && i < ops.n; i++) {
		char vs[IPVS_KEY_STRLEN];

		log_debug("ipvs", "kernel differs from the plan", "op=%s vs=%s",
			  ipvs_op_kind_to_string(ops.ops[i].kind),
			  ipvs_key_format(&ops.ops[i].svc.key, vs));
	}
	ipvs_oplist_clear(&ops);
	ipvs_table_clear(&fresh);
	return match;
}

int ipvs_node_plan_diff(struct ipvs_node *node, const struct plan_table *desired, FILE *f)
{
	struct ipvs_sync_result res = {0};
	int r = ipvs_node_pass_begin(node, desired, &res);

	if (r < 0)
		return r;
	node->mode = IPVS_NODE_KEEP_DECIDE;
	/* Decisions are made on a copy of the drain records: nothing is written. */
	return ipvs_sync_plan_diff(node->sync, desired, f);
}

int ipvs_node_stats_foreach(struct ipvs_node *node, ipvs_node_stats_fn fn, void *userdata)
{
	struct ipvs_table t = {0};
	struct ipvs_vs *vs, *tmp;
	int r;

	if (node->ctx)
		r = ipvs_nl_services_dump(node->ctx, ipvs_table_service_cb, &t);
	else
		r = node->ops->read(node->impl, &t);
	HASH_ITER(hh, t.vs, vs, tmp)
	{
		struct ipvs_node_vs_stats st;
		struct net_addr a;
		char key[IPVS_KEY_STRLEN];

		if (r < 0 || !ipvs_sync_owns(node->sync, &vs->svc.key))
			continue;
		ipvs_key_to_net_addr(&vs->svc.key, &a);
		st = (struct ipvs_node_vs_stats){
		    .vs = ipvs_key_format(&vs->svc.key, key),
		    .addr = &a,
		    .port = vs->svc.key.port,
		    .protocol = ipvs_protocol_to_string(vs->svc.key.protocol),
		    .conns = vs->stats.conns,
		    .inpkts = vs->stats.inpkts,
		    .outpkts = vs->stats.outpkts,
		    .inbytes = vs->stats.inbytes,
		    .outbytes = vs->stats.outbytes,
		};
		fn(&st, userdata);
	}
	ipvs_table_clear(&t);
	return r < 0 ? r : 0;
}

void ipvs_node_result_format(const struct ipvs_node_result *r, char *buf, size_t size)
{
	snprintf(buf, size,
		 "sync: services +%u ~%u -%u, destinations +%u ~%u -%u, addresses +%u -%u, "
		 "draining %u, took %.0f ms",
		 r->sync.services_added, r->sync.services_changed, r->sync.services_deleted,
		 r->sync.dests_added, r->sync.dests_changed, r->sync.dests_deleted,
		 r->addresses_added, r->addresses_deleted, r->draining, r->took_ms);
}

/* ---- Opening ---- */

static int ipvs_node_copy_config(struct ipvs_node *node, const struct ipvs_node_config *cfg)
{
	node->cfg = *cfg;
	node->ifname = strdup(cfg->dummy_ifname ? cfg->dummy_ifname : "kube-ipvs0");
	node->scheduler = strdup(cfg->scheduler && *cfg->scheduler ? cfg->scheduler : "rr");
	node->proc_root = strdup(cfg->proc_root ? cfg->proc_root : "/proc");
	node->exclude =
	    calloc(cfg->n_exclude_cidrs ? cfg->n_exclude_cidrs : 1, sizeof(*node->exclude));
	if (!node->ifname || !node->scheduler || !node->proc_root || !node->exclude)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_exclude_cidrs; i++)
		node->exclude[i] = cfg->exclude_cidrs[i];
	node->cfg.dummy_ifname = node->ifname;
	node->cfg.scheduler = node->scheduler;
	node->cfg.proc_root = node->proc_root;
	node->cfg.exclude_cidrs = node->exclude;
	node->cfg.state_dir = NULL; /* the state keeps its own copy of the paths */
	return 0;
}

static struct ipvs_node *ipvs_node_alloc(const struct ipvs_node_config *cfg)
{
	struct ipvs_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->state.lock_fd = -1;
	node->now_ms = ipvs_node_realtime_ms;
	if (ipvs_node_copy_config(node, cfg) < 0)
		return ipvs_node_free(node);
	return node;
}

struct ipvs_node *ipvs_node_free(struct ipvs_node *node)
{
	if (!node)
		return NULL;
	node->sync = ipvs_sync_free(node->sync);
	node->vip = ipvs_vip_free(node->vip);
	node->ctx = ipvs_ctx_free(node->ctx);
	ipvs_state_clear(&node->state); /* releases the lock */
	ipvs_node_keyset_clear(&node->need_refresh);
	ipvs_state_addrset_clear(&node->want_addrs);
	free(node->ifname);
	free(node->scheduler);
	free(node->proc_root);
	free(node->exclude);
	free(node);
	return NULL;
}

static int ipvs_node_sync_setup(struct ipvs_node *node)
{
	int r;

	r = ipvs_sync_new_with_ops(node->ops, node->impl, &node->sync);
	if (r < 0)
		return r;
	ipvs_sync_set_hooks(node->sync, ipvs_node_keep_cb, ipvs_node_excluded_cb, node);
	for (size_t i = 0; i < node->state.n_vs; i++) {
		r = ipvs_sync_own(node->sync, &node->state.vs[i]);
		if (r < 0)
			return r;
	}
	node->saved_generation = ipvs_sync_owned_generation(node->sync);
	return 0;
}

int ipvs_node_new_with_ops(const struct ipvs_node_config *cfg, const struct ipvs_ops *ops,
			   void *impl, uint64_t (*now_ms)(void), struct ipvs_node **ret_node)
{
	struct ipvs_node *node = ipvs_node_alloc(cfg);
	int r;

	if (!node)
		return -ENOMEM;
	node->ops = ops;
	node->impl = impl;
	if (now_ms)
		node->now_ms = now_ms;
	if (cfg->state_dir) {
		r = ipvs_state_init(&node->state, cfg->state_dir, NULL);
		if (r >= 0) {
			node->have_state_file = true;
			r = ipvs_state_load(&node->state, NULL);
			if (r == -ENOENT)
				r = 0;
		}
		if (r < 0) {
			ipvs_node_free(node);
			return r;
		}
	}
	r = ipvs_node_sync_setup(node);
	if (r < 0) {
		ipvs_node_free(node);
		return r;
	}
	*ret_node = node;
	return 0;
}

struct ipvs_sync *ipvs_node_sync_handle(struct ipvs_node *node)
{
	return node->sync;
}

struct ipvs_state *ipvs_node_state(struct ipvs_node *node)
{
	return &node->state;
}

/*
 * Runs `modprobe <module>` (found on PATH): 0 when it exited 0, 1 when it failed, -errno when
 * it could not run (-ENOENT: no modprobe on PATH).
 */
static int ipvs_node_modprobe(const char *module)
{
	char *argv[] = {"modprobe", "-q", (char *)module, NULL};
	pid_t pid;
	int status, r;

	r = posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/*
 * Loads ip_vs when /proc/net/ip_vs is missing. Not the scheduler's module: the kernel loads that
 * itself when the probe (ipvs_sched_probe()) names the scheduler, and says so if it cannot.
 */
static int ipvs_node_load_ipvs(struct ipvs_node *node, char *err, size_t err_size)
{
	int r;

	if (ipvs_probe_is_loaded(node->proc_root))
		return 0;
	if (node->cfg.read_only || node->cfg.no_modprobe) {
		ipvs_node_err(err, err_size,
			      "IPVS is not loaded: %s/net/ip_vs is missing (load the ip_vs kernel "
			      "module)",
			      node->proc_root);
		return -ENOENT;
	}
	r = ipvs_node_modprobe("ip_vs");
	if (r != 0 || !ipvs_probe_is_loaded(node->proc_root)) {
		ipvs_node_err(err, err_size,
			      "IPVS is not available: %s/net/ip_vs is missing and `modprobe ip_vs` "
			      "%s%s; the kernel needs CONFIG_IP_VS or the ip_vs module",
			      node->proc_root,
			      r > 0   ? "failed"
			      : r < 0 ? "could not run: "
				      : "did not create it",
			      r < 0 ? strerror(-r) : "");
		return -ENOENT;
	}
	log_info("ipvs", "loaded IPVS", "modules=ip_vs");
	return 0;
}

/* Sets the timeouts that are configured and differ; logs each change. */
static int ipvs_node_timeouts(struct ipvs_node *node)
{
	uint32_t tcp, fin, udp, want_tcp, want_fin, want_udp;
	int r;

	if (!node->ctx ||
	    (!node->cfg.tcp_timeout && !node->cfg.tcpfin_timeout && !node->cfg.udp_timeout))
		return 0;
	r = ipvs_timeouts_get(node->ctx, &tcp, &fin, &udp);
	if (r < 0)
		return r;
	want_tcp =
	    node->cfg.tcp_timeout && node->cfg.tcp_timeout != tcp ? node->cfg.tcp_timeout : 0;
	want_fin = node->cfg.tcpfin_timeout && node->cfg.tcpfin_timeout != fin
		       ? node->cfg.tcpfin_timeout
		       : 0;
	want_udp =
	    node->cfg.udp_timeout && node->cfg.udp_timeout != udp ? node->cfg.udp_timeout : 0;
	if (!want_tcp && !want_fin && !want_udp)
		return 0;
	r = ipvs_timeouts_set(node->ctx, want_tcp, want_fin, want_udp);
	if (r < 0)
		return r;
	log_info("ipvs", "set IPVS timeouts",
		 "from=\"tcp=%u tcpfin=%u udp=%u\" to=\"tcp=%u tcpfin=%u udp=%u\"", tcp, fin, udp,
		 want_tcp ? want_tcp : tcp, want_fin ? want_fin : fin, want_udp ? want_udp : udp);
	return 0;
}

/* Logs once the foreign virtual servers found on the interface's addresses. */
static void ipvs_node_log_foreign(struct ipvs_node *node)
{
	const struct ipvs_table *t = ipvs_sync_actual(node->sync);
	struct ipvs_state_addr *addrs = NULL;
	struct ipvs_vs *vs, *tmp;
	unsigned n = 0, excluded = 0;
	char first[IPVS_KEY_STRLEN] = "";

	HASH_ITER(hh, t->vs, vs, tmp)
	{
		struct net_addr a;

		if (ipvs_sync_owns(node->sync, &vs->svc.key))
			continue;
		ipvs_key_to_net_addr(&vs->svc.key, &a);
		if (ipvs_node_key_is_excluded(node, &vs->svc.key))
			excluded++;
		if (!node->vip || !ipvs_vip_has(node->vip, &a))
			continue;
		if (!n)
			ipvs_key_format(&vs->svc.key, first);
		n++;
		/* ENOMEM only makes the logged address count short. */
		if (ipvs_state_addrset_add(&addrs, &a) < 0)
			continue;
	}
	if (n)
		log_info("ipvs",
			 "foreign virtual servers on the dummy interface's addresses, left alone",
			 "if=%s services=%u addresses=%u first=%s excluded=%u hint=\"kube-proxy "
			 "leftovers? kipvs never changes them\"",
			 node->ifname, n, HASH_COUNT(addrs), first, excluded);
	ipvs_state_addrset_clear(&addrs);
}

static int ipvs_node_lock(struct ipvs_node *node, const char *state_dir, char *err, size_t err_size)
{
	int r;

	r = ipvs_state_init(&node->state, state_dir, NULL);
	if (r < 0) {
		ipvs_node_err(err, err_size, "cannot name the state file under %s: %s", state_dir,
			      strerror(-r));
		return r;
	}
	node->have_state_file = true;
	r = ipvs_state_lock(&node->state);
	if (r == -EBUSY) /* flock() does not tell who holds it: no pid (see ipvs_state_lock()) */
		ipvs_node_err(err, err_size,
			      "another kipvs already manages IPVS in this network namespace "
			      "(lock %s held; fuser -v %s names the holder)",
			      node->state.lock_path, node->state.lock_path);
	else if (r < 0)
		ipvs_node_err(err, err_size, "cannot take the lock %s: %s", node->state.lock_path,
			      strerror(-r));
	return r;
}

static int ipvs_node_load_state(struct ipvs_node *node)
{
	unsigned bad = 0;
	int r = ipvs_state_load(&node->state, &bad);

	if (r == -ENOENT)
		return 0;
	if (r == -EBADMSG) {
		/* Start as if it were lost: only the desired keys are adopted. */
		log_warn("ipvs", "state file unreadable, ignored", "path=%s line=%u action=ignored",
			 node->state.path, bad);
		ipvs_state_clear(&node->state);
		node->state.dirty = true;
		return 0;
	}
	return r;
}

int ipvs_node_open(const struct ipvs_node_config *cfg, struct ipvs_node **ret_node, char *err,
		   size_t err_size)
{
	struct ipvs_node *node = ipvs_node_alloc(cfg);
	struct utsname un;
	int r, major = 0, minor = 0;

	if (!node) {
		ipvs_node_err(err, err_size, "out of memory");
		return -ENOMEM;
	}
	node->ops = &ipvs_nl_ops;
	if (cfg->state_dir && !cfg->read_only) {
		r = ipvs_node_lock(node, cfg->state_dir, err, err_size);
		if (r < 0)
			goto out_free;
	} else if (cfg->state_dir) {
		r = ipvs_state_init(&node->state, cfg->state_dir, NULL);
		if (r < 0) {
			ipvs_node_err(err, err_size, "cannot name the state file: %s",
				      strerror(-r));
			goto out_free;
		}
		node->have_state_file = true;
	}
	r = ipvs_node_load_ipvs(node, err, err_size);
	if (r < 0)
		goto out_free;
	if (node->have_state_file) {
		int lock_fd = node->state.lock_fd;

		node->state.lock_fd = -1; /* a failed load clears the state; keep the lock */
		r = ipvs_node_load_state(node);
		node->state.lock_fd = lock_fd;
		if (r < 0) {
			ipvs_node_err(err, err_size, "cannot read the state file %s: %s",
				      node->state.path, strerror(-r));
			goto out_free;
		}
	}
	r = ipvs_ctx_open(&node->ctx);
	if (r < 0) {
		ipvs_node_err(err, err_size, "cannot open the IPVS netlink family: %s%s",
			      strerror(-r), r == -EPERM || r == -EACCES ? " (run as root)" : "");
		goto out_free;
	}
	node->impl = node->ctx;
	r = ipvs_node_sync_setup(node);
	if (r < 0) {
		ipvs_node_err(err, err_size, "out of memory");
		goto out_free;
	}
	if (!cfg->read_only) {
		/* Before any change to the kernel: a scheduler it lacks must change nothing. */
		r = ipvs_sched_probe(node->ops, node->impl, node->scheduler, err,
				     err ? err_size : 0);
		if (r < 0)
			goto out_free;
		log_debug("ipvs", "scheduler probed", "scheduler=%s", node->scheduler);
		r = ipvs_vip_open(node->ifname, &node->vip);
		if (r < 0) {
			ipvs_node_err(err, err_size, "cannot set up the dummy interface %s: %s",
				      node->ifname, strerror(-r));
			goto out_free;
		}
		if (ipvs_vip_created_link(node->vip) ||
		    (node->state.link_created && strcmp(node->state.ifname, node->ifname) == 0)) {
			ipvs_vip_set_created_link(node->vip, true);
			if (!node->state.link_created)
				node->state.dirty = true;
			node->state.link_created = true;
		} else if (node->state.link_created) {
			node->state.link_created = false;
			node->state.dirty = true;
		}
		if (strcmp(node->state.ifname, node->ifname) != 0) {
			snprintf(node->state.ifname, sizeof(node->state.ifname), "%s",
				 node->ifname);
			node->state.dirty = true;
		}
		if (uname(&un) == 0 && ipvs_kernel_version_parse(un.release, &major, &minor) == 0) {
			r = ipvs_sysctl_apply(node->proc_root, major, minor, cfg->ipv6);
			if (r < 0)
				log_warn("ipvs", "cannot set the IPVS sysctls",
					 "err=\"%s\" action=ignored", strerror(-r));
		}
		r = ipvs_node_timeouts(node);
		if (r < 0)
			log_warn("ipvs", "cannot set the IPVS timeouts",
				 "err=\"%s\" action=ignored", strerror(-r));
	}
	{
		struct ipvs_sync_result res = {0};

		r = ipvs_sync_read(node->sync, &res);
		if (r < 0) {
			ipvs_node_err(err, err_size, "cannot read the IPVS table: %s",
				      strerror(-r));
			goto out_free;
		}
	}
	node->fresh_next = true;
	ipvs_node_log_foreign(node);
	ipvs_node_state_save(node);
	*ret_node = node;
	return 0;
out_free:
	ipvs_node_free(node);
	return r;
}

/* ---- Cleanup ---- */

int ipvs_node_cleanup(const struct ipvs_node_config *cfg, struct ipvs_node_result *ret_result,
		      char *err, size_t err_size)
{
	struct ipvs_node_result res = {0};
	struct ipvs_node *node = ipvs_node_alloc(cfg);
	struct ipvs_table actual = {0};
	struct ipvs_state_addr *used = NULL, *a, *atmp;
	struct ipvs_oplist ops = {0};
	char buf[NET_ADDR_STRLEN];
	int r;

	if (!node) {
		ipvs_node_err(err, err_size, "out of memory");
		return -ENOMEM;
	}
	r = ipvs_node_lock(node, cfg->state_dir ? cfg->state_dir : IPVS_NODE_STATE_DIR, err,
			   err_size);
	if (r < 0)
		goto out;
	{
		int lock_fd = node->state.lock_fd;

		node->state.lock_fd = -1;
		r = ipvs_state_load(&node->state, NULL);
		node->state.lock_fd = lock_fd;
	}
	if (r == -ENOENT) {
		log_info("ipvs", "no state file: nothing kipvs created is known here",
			 "path=%s action=none", node->state.path);
		r = 0;
		goto out;
	}
	if (r < 0) {
		ipvs_node_err(err, err_size, "cannot read the state file %s: %s", node->state.path,
			      strerror(-r));
		goto out;
	}
	if (ipvs_probe_is_loaded(node->proc_root)) {
		r = ipvs_ctx_open(&node->ctx);
		if (r >= 0)
			r = ipvs_nl_table_read(node->ctx, &actual);
		if (r < 0) {
			ipvs_node_err(err, err_size, "cannot read IPVS: %s", strerror(-r));
			goto out;
		}
		for (size_t i = 0; i < node->state.n_vs; i++) {
			struct ipvs_vs *vs = ipvs_table_find(&actual, &node->state.vs[i]);
			struct ipvs_op op = {.kind = IPVS_OP_SERVICE_DEL};

			if (!vs || ipvs_node_key_is_excluded(node, &vs->svc.key))
				continue;
			op.svc = vs->svc;
			r = ipvs_oplist_append(&ops, &op);
			if (r < 0)
				goto out;
		}
		if (ops.n > 0) {
			r = ipvs_nl_ops.apply(node->ctx, ops.ops, ops.n, NULL);
			if (r < 0) {
				ipvs_node_err(err, err_size,
					      "cannot delete the virtual servers: %s",
					      strerror(-r));
				goto out;
			}
		}
		for (size_t i = 0; i < ops.n; i++) {
			char key[IPVS_KEY_STRLEN];

			if (ops.ops[i].err && ops.ops[i].err != -ESRCH) {
				ipvs_node_err(err, err_size, "cannot delete virtual server %s: %s",
					      ipvs_key_format(&ops.ops[i].svc.key, key),
					      strerror(-ops.ops[i].err));
				r = ops.ops[i].err;
				goto out;
			}
			ipvs_table_del(&actual, &ops.ops[i].svc.key);
			res.sync.services_deleted++;
		}
	}
	r = ipvs_vip_open_existing(node->state.ifname[0] ? node->state.ifname : node->ifname,
				   &node->vip);
	if (r == -ENODEV) {
		r = 0;
	} else if (r < 0) {
		ipvs_node_err(err, err_size, "cannot read the dummy interface: %s", strerror(-r));
		goto out;
	} else {
		if (ipvs_node_table_addrs(&actual, &used) < 0) {
			r = -ENOMEM;
			goto out;
		}
		HASH_ITER(hh, node->state.addrs, a, atmp)
		{
			if (ipvs_state_addrset_find(used, &a->addr))
				continue; /* a foreign service still uses it */
			if (!ipvs_vip_has(node->vip, &a->addr))
				continue;
			r = ipvs_vip_unbind(node->vip, &a->addr);
			if (r < 0) {
				ipvs_node_err(err, err_size, "cannot unbind %s: %s",
					      net_addr_format(&a->addr, buf), strerror(-r));
				goto out;
			}
			res.addresses_deleted++;
		}
		if (node->state.link_created && ipvs_vip_count(node->vip) == 0) {
			ipvs_vip_set_created_link(node->vip, true);
			r = ipvs_vip_remove_link(node->vip);
			if (r < 0) {
				ipvs_node_err(err, err_size, "cannot delete the interface %s: %s",
					      node->state.ifname, strerror(-r));
				goto out;
			}
		}
	}
	r = ipvs_state_remove(&node->state);
	if (r < 0)
		ipvs_node_err(err, err_size, "cannot remove the state file %s: %s",
			      node->state.path, strerror(-r));
out:
	if (r >= 0 && ret_result)
		*ret_result = res;
	ipvs_state_addrset_clear(&used);
	ipvs_oplist_clear(&ops);
	ipvs_table_clear(&actual);
	ipvs_node_free(node);
	return r;
}
