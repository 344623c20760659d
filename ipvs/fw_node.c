/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw_node_sync() (ipvs/fw.h): one node sync with its packet path. nftables and IPVS are two
 * kernel interfaces with no shared transaction, so the order is what keeps packets safe: base
 * chains before the first VIP, element adds before IPVS, element deletes after; and the UDP
 * conntrack entries IPVS's change made stale.
 */
#include "fw.h"

#include <errno.h>
#include <string.h>

#include "ipvs.h"
#include "log.h"
#include "plan.h"
#include "plan_ct.h"
#include "plan_fw.h"

static void fw_node_log(const char *msg, const char *detail, int r)
{
	char q[600];

	log_warn("fw", msg, "detail=%s err=\"%s\" retry=next_sync", log_quote(q, sizeof(q), detail),
		 strerror(-r));
}

/*
 * The UDP conntrack entries the change from previous to desired made stale, all virtual servers
 * in one pass: one set, one table dump per IP family.
 */
static void fw_node_conntrack(const struct plan_table *previous, const struct plan_table *desired,
			      struct fw_node_result *res)
{
	struct ipvs_conntrack_result ct = {0};
	struct plan_ct set = {0};
	int r = plan_ct_build(previous, desired, &set);

	if (r >= 0 && set.n_vs > 0)
		r = ipvs_conntrack_udp_flush(&set, &ct);
	res->conntrack_deleted = ct.deleted;
	if (r < 0) {
		res->conntrack_err = r;
		log_warn("fw", "UDP conntrack cleanup failed", "udp_vips=%zu deleted=%u err=\"%s\"",
			 set.n_vs, ct.deleted, strerror(-r));
	} else if (ct.matched > 0) {
		log_debug("fw", "UDP conntrack entries deleted",
			  "udp_vips=%zu scanned=%u matched=%u deleted=%u", set.n_vs, ct.scanned,
			  ct.matched, ct.deleted);
	}
	plan_ct_clear(&set);
}

int fw_node_sync(struct fw *fw, struct ipvs_node *node, const struct plan_table *previous,
		 const struct plan_table *desired, const struct plan_table *part,
		 const struct plan_fw *fw_desired, struct ipvs_node_result *ret_result,
		 struct fw_node_result *ret_fw)
{
	struct fw_node_result res = {0};
	struct sync_phases ph = {0};
	char err[512] = "";
	double t = sync_phase_now_ms();
	int r;

	r = fw_base_ensure(fw, err, sizeof(err));
	if (r < 0) {
		fw_node_log("nftables base table failed; IPVS left unsynced", err, r);
		res.base_err = r;
		if (ret_fw)
			*ret_fw = res;
		return r;
	}
	if (r > 0)
		log_info("fw", "nftables base table installed", "");

	r = fw_desired ? fw_sync(fw, fw_desired, FW_PHASE_ADD, &res.add, err, sizeof(err)) : 0;
	if (r < 0) {
		fw_node_log("nftables element adds failed", err, r);
		res.add_err = r;
	}
	sync_phase_add_since(&ph, SYNC_PHASE_NFTABLES, t);

	r = part ? ipvs_node_sync_part(node, desired, part, ret_result)
		 : ipvs_node_sync(node, desired, ret_result);
	if (r < 0) {
		/* What IPVS still has may need the elements: keep them until a sync succeeds. */
		if (ret_fw)
			*ret_fw = res;
		return r;
	}

	/* UDP clients must not stick to a removed real server (or to none). */
	t = sync_phase_now_ms();
	if (previous)
		fw_node_conntrack(previous, desired, &res);
	sync_phase_add_since(&ph, SYNC_PHASE_CONNTRACK, t);

	t = sync_phase_now_ms();
	r = fw_desired ? fw_sync(fw, fw_desired, FW_PHASE_DELETE, &res.del, err, sizeof(err)) : 0;
	if (r < 0) {
		fw_node_log("nftables element deletes failed", err, r);
		res.del_err = r;
	}
	sync_phase_add_since(&ph, SYNC_PHASE_NFTABLES, t);
	/* ipvs_node_sync() filled *ret_result: the packet path's phases are added to it. */
	sync_phases_add(&ret_result->phases, &ph);
	if (ret_fw)
		*ret_fw = res;
	return 0;
}

int fw_start_checks(struct fw *fw, const struct fw_config *cfg, const char *proc_root,
		    bool strict_arp)
{
	int r;

	if (cfg->n_cluster_cidrs == 0 && !cfg->masquerade_all)
		log_warn(
		    "fw",
		    "neither --cluster-cidr nor --masquerade-all is set: ClusterIP traffic from "
		    "outside the cluster is not masqueraded",
		    "");
	if (fw_forward_drop_is_present(fw))
		log_warn(
		    "fw",
		    "another nftables table drops forwarded packets by policy (as Docker's FORWARD "
		    "does); kipvs's table cannot override it",
		    "action=ignored");
	r = fw_strict_arp_apply(proc_root, strict_arp);
	if (r < 0) {
		log_warn("fw", "strict ARP failed", "err=\"%s\"", strerror(-r));
		return r;
	}
	return 0;
}
