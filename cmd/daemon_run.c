/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_run(): the daemon bound to the real kernel side: the IPVS node (ipvs_node_*) and its
 * packet path (fw_*: nftables), synced together by fw_node_sync(); daemon_sync_once() is one
 * sync of the same kernel side for `kipvs run --once`. The unit tests build the daemon with a
 * recording fake instead (and so never link this file); the guest integration tests run this.
 */
#include "daemon.h"
#include "daemon_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fw.h"
#include "ipvs.h"
#include "log.h"
#include "plan.h"

/* The real kernel side: the IPVS node, its packet path, and the table last synced in full. */
struct daemon_kernel {
	struct ipvs_node *node;
	struct fw *fw;
	struct plan_table previous; /* its UDP part, for conntrack cleanup (fw_node_sync()) */
	bool have_previous;
	bool verify_fw; /* read the nftables sets back before the next sync */
	/*
	 * Someone else's change to the nftables table; NULL: the periodic read-back only. Opened
	 * after the first sync, so the kernel does not build a notification for each of the
	 * first sync's elements (100 000 at 10 000 Services) only for kipvs to drop them.
	 */
	struct fw_monitor *monitor;
	bool monitor_tried;
	const char *table;	  /* the fw table (NULL: the default); outlives the kernel side */
	unsigned verify_requests; /* periodic verifications asked for, for the safety net */
	bool clean;		  /* the last full sync succeeded, nftables included */
};

/*
 * With the monitor, the nftables sets are read back on every DAEMON_FW_VERIFY_EVERY-th
 * periodic verification only, as a safety net for a change made while kipvs itself was
 * writing (its own notifications are drained after each sync, and those with them).
 */
#define DAEMON_FW_VERIFY_EVERY 10

static void *daemon_kernel_free(void *kernel)
{
	struct daemon_kernel *k = kernel;

	if (!k)
		return NULL;
	k->monitor = fw_monitor_free(k->monitor);
	k->fw = fw_free(k->fw);
	k->node = ipvs_node_free(k->node);
	plan_table_clear(&k->previous);
	free(k);
	return NULL;
}

static int daemon_kernel_open(const struct daemon_kernel_config *cfg, void **ret_kernel, char *err,
			      size_t err_size)
{
	struct daemon_kernel *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	r = ipvs_node_open(&cfg->node, &k->node, err, err_size);
	if (r == 0) {
		r = fw_open(&cfg->fw, &k->fw);
		if (r < 0)
			(void)snprintf(err, err_size, "cannot set up nftables: %s", strerror(-r));
	}
	if (r < 0) {
		daemon_kernel_free(k);
		return r;
	}
	k->table = cfg->fw.table;
	/* Warnings and strict ARP; each logged by fw. A strict-ARP failure is not fatal. */
	(void)!fw_start_checks(k->fw, &cfg->fw, cfg->node.proc_root, cfg->strict_arp);
	*ret_kernel = k;
	return 0;
}

/*
 * The UDP virtual servers of src, with their real servers, into ret (empty): all that the
 * next sync's conntrack cleanup compares (plan_fw_udp_stale() looks at UDP only), so a large
 * TCP table costs nothing to keep. 0 or -ENOMEM (ret left empty).
 */
static int daemon_udp_table_copy(const struct plan_table *src, struct plan_table *ret)
{
	struct plan_table t = {0};
	size_t n = 0;

	for (size_t i = 0; i < src->n_vs; i++)
		n += src->vs[i].proto == KUBE_PROTO_UDP;
	t.vs = calloc(n ? n : 1, sizeof(*t.vs));
	if (!t.vs)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_vs; i++) {
		const struct plan_vs *a = &src->vs[i];
		struct plan_vs *b = &t.vs[t.n_vs];

		if (a->proto != KUBE_PROTO_UDP)
			continue;
		*b = *a;
		b->dests = NULL;
		b->svc_namespace = b->svc_name = b->port_name = NULL; /* not needed: not copied */
		t.n_vs++;
		if (a->n_dests && !(b->dests = calloc(a->n_dests, sizeof(*b->dests)))) {
			plan_table_clear(&t);
			return -ENOMEM;
		}
		if (a->n_dests)
			memcpy(b->dests, a->dests, a->n_dests * sizeof(*b->dests));
	}
	*ret = t;
	return 0;
}

/*
 * After each sync: what it wrote notified the monitor too, not someone else's change, so that
 * is drained; after the first, the monitor is opened (see struct daemon_kernel).
 */
static void daemon_kernel_monitor_after_sync(struct daemon_kernel *k)
{
	int r;

	if (k->monitor) {
		(void)!fw_monitor_drain(k->monitor);
		return;
	}
	if (k->monitor_tried)
		return;
	k->monitor_tried = true;
	r = fw_monitor_open(k->table, &k->monitor);
	if (r < 0)
		log_warn("daemon",
			 "cannot watch the nftables table; its sets are read back every period",
			 "err=\"%s\"", strerror(-r));
}

/*
 * fw_node_sync(): the packet path's additions, IPVS, then its removals. A failed nftables phase
 * counts as a failed operation, so the daemon retries (fw then rewrites every set). After a
 * fully good sync its UDP part is kept as `previous` for the next one.
 */
static int daemon_kernel_sync(void *kernel, const struct plan_table *desired,
			      const struct plan_fw *fw_desired, unsigned same,
			      const struct plan_table *part, struct ipvs_node_result *ret_result)
{
	struct daemon_kernel *k = kernel;
	struct fw_node_result fres = {0};
	struct sync_phases checked = {0};
	double verify_ms, t = sync_phase_now_ms();
	bool drift = same != (DAEMON_SAME_PLAN | DAEMON_SAME_SETS) || !k->clean;
	bool sets_kept = (same & DAEMON_SAME_SETS) && k->clean;
	int r;

	if (k->verify_fw) {
		/*
		 * 0 (differs) marks every set for a rewrite in the sync below; a drifted
		 * structure (rules, chains) was already reinstalled by fw_verify() (its warn line).
		 */
		r = fw_verify(k->fw, fw_desired);
		if (r < 0)
			log_debug("daemon", "cannot verify the nftables table", "err=\"%s\"",
				  strerror(-r));
		else if (r == 0)
			log_info("daemon",
				 "nftables table differed from the plan; rewriting its sets", "");
		k->verify_fw = false;
		drift = drift || r <= 0;
		sets_kept = sets_kept && r > 0;
	}
	verify_ms = sync_phase_now_ms() - t;
	if (!drift) {
		/*
		 * A verification of what the last sync left: the reads alone (a services dump, a
		 * slice of real servers, the addresses); a diff of the whole table only on drift.
		 */
		r = ipvs_node_check_only(k->node, &drift, ret_result);
		if (r < 0)
			return r;
		ret_result->phases.ms[SYNC_PHASE_NFTABLES] += verify_ms;
		if (!drift)
			return 0;
		checked = ret_result->phases; /* the sync below diffs against what it read */
	}
	k->clean = false;
	/* Sets as the last clean sync left them (and as read back, when they were): no transaction. */
	r = fw_node_sync(k->fw, k->node, k->have_previous ? &k->previous : NULL, desired, part,
			 sets_kept ? NULL : fw_desired, ret_result, &fres);
	daemon_kernel_monitor_after_sync(k);
	if (r < 0)
		return r;
	if (fres.add_err < 0 || fres.del_err < 0) {
		ret_result->sync.failed++;
		k->verify_fw = true;
	}
	ret_result->phases.ms[SYNC_PHASE_NFTABLES] += verify_ms;
	sync_phases_add(&ret_result->phases, &checked);
	k->clean = ret_result->sync.failed == 0;
	if (ret_result->sync.failed == 0) {
		t = sync_phase_now_ms();
		plan_table_clear(&k->previous);
		k->have_previous = daemon_udp_table_copy(desired, &k->previous) == 0;
		sync_phase_add_since(&ret_result->phases, SYNC_PHASE_RECORD, t);
	}
	return 0;
}

static int daemon_kernel_drain_sweep(void *kernel, struct ipvs_node_result *ret_result)
{
	return ipvs_node_drain_sweep(((struct daemon_kernel *)kernel)->node, ret_result);
}

static unsigned daemon_kernel_draining_count(const void *kernel)
{
	return ipvs_node_draining_count(((const struct daemon_kernel *)kernel)->node);
}

/* The next sync reads the IPVS table and the nftables sets back and repairs both. */
static void daemon_kernel_request_verify(void *kernel)
{
	struct daemon_kernel *k = kernel;

	ipvs_node_request_verify(k->node);
	if (!k->monitor || ++k->verify_requests % DAEMON_FW_VERIFY_EVERY == 0)
		k->verify_fw = true;
}

static int daemon_kernel_watch_fd(const void *kernel)
{
	const struct daemon_kernel *k = kernel;

	return k->monitor ? fw_monitor_fd(k->monitor) : -1;
}

static bool daemon_kernel_watch_changed(void *kernel)
{
	struct daemon_kernel *k = kernel;

	if (fw_monitor_drain(k->monitor) == 0)
		return false;
	k->verify_fw = true; /* a read error counts as a change: read back to be sure */
	return true;
}

static int daemon_kernel_stats_foreach(void *kernel, ipvs_node_stats_fn fn, void *userdata)
{
	return ipvs_node_stats_foreach(((struct daemon_kernel *)kernel)->node, fn, userdata);
}

const struct daemon_kernel_ops daemon_kernel_ipvs = {
    .open = daemon_kernel_open,
    .free = daemon_kernel_free,
    .sync = daemon_kernel_sync,
    .drain_sweep = daemon_kernel_drain_sweep,
    .draining_count = daemon_kernel_draining_count,
    .request_verify = daemon_kernel_request_verify,
    .stats_foreach = daemon_kernel_stats_foreach,
    .watch_fd = daemon_kernel_watch_fd,
    .watch_changed = daemon_kernel_watch_changed,
};

int daemon_run(const struct kube_options *opts)
{
	const struct daemon_env env = {.kernel = &daemon_kernel_ipvs};
	struct daemon *d = NULL;
	int r;

	/* A peer closing a connection must not kill the daemon. */
	(void)signal(SIGPIPE, SIG_IGN);
	r = daemon_new(opts, &env, &d);
	if (r < 0)
		return r == -ENOPKG ? 2 : 1; /* the kernel has no such scheduler: an invalid value */
	daemon_loop(d);
	d = daemon_free(d);
	log_info("daemon", "stopped", "");
	return 0;
}

int daemon_sync_once(const struct kube_options *opts, const struct plan_table *desired,
		     const struct plan_fw *fw_desired, struct ipvs_node_result *ret_result,
		     bool *ret_matches, char *err, size_t err_size)
{
	const struct daemon_kernel_ops *ops = &daemon_kernel_ipvs;
	struct daemon_kernel_config cfg;
	void *kernel = NULL;
	int r;

	*ret_matches = false;
	daemon_kernel_config_init(opts, NULL, NULL, &cfg);
	for (size_t i = 0; i < desired->n_vs; i++)
		cfg.node.ipv6 |= desired->vs[i].addr.family == AF_INET6;
	r = ops->open(&cfg, &kernel, err, err_size);
	if (r < 0)
		return r;
	r = ops->sync(kernel, desired, fw_desired, 0, NULL, ret_result);
	if (r < 0)
		(void)snprintf(err, err_size, "sync failed: %s", strerror(-r));
	else
		*ret_matches = ret_result->sync.failed == 0 &&
			       ipvs_node_matches(((struct daemon_kernel *)kernel)->node, desired);
	ops->free(kernel);
	return r;
}
