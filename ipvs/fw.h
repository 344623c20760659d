/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw: kipvs's nftables table (one `inet` table, "kipvs" by default). The base chains, sets and
 * rules are installed once through libnftables and kept (their handles do not change); each
 * sync only adds and deletes set elements, as one binary netlink batch (libnftnl) per call.
 * Nothing outside the table is ever touched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_prefix;
struct plan_fw;

#define FW_TABLE_DEFAULT "kipvs"
/* The packet mark bit that asks the postrouting chain to masquerade (as kube-proxy's). */
#define FW_MASQ_MARK 0x4000

struct fw_config {
	const char *table;			/* NULL: FW_TABLE_DEFAULT */
	const struct net_prefix *cluster_cidrs; /* ClusterIP traffic from outside is masqueraded */
	size_t n_cluster_cidrs;
	bool masquerade_all; /* all ClusterIP traffic is masqueraded */
};

/*
 * A handle on the table: a libnftables context, a netfilter netlink socket (opened on first use)
 * and what kipvs last wrote. fw_open() makes no
 * kernel change; 0 or -ENOMEM. Free with fw_free() (accepts NULL, returns NULL), which leaves
 * the table in place.
 */
struct fw;
int fw_open(const struct fw_config *cfg, struct fw **ret_fw) __attribute__((warn_unused_result));
struct fw *fw_free(struct fw *fw);

/*
 * Makes sure the table exists with kipvs's chains, sets and rules: creates it when absent, keeps
 * it (and every handle in it) when its fingerprint matches this configuration, and replaces it
 * in one transaction when the configuration changed. It reads only the table's comment (netlink,
 * no set elements), and after a success it checks nothing until fw_verify() ran or an
 * nftables operation failed. Returns 1 when it created or replaced the table, 0 when it kept
 * it, or -errno; err (may be NULL) gets the error text.
 */
int fw_base_ensure(struct fw *fw, char *err, size_t err_size) __attribute__((warn_unused_result));

/* Which part of a change fw_sync() applies. */
enum fw_phase {
	FW_PHASE_ADD,	 /* only the missing elements (before IPVS gets what they cover) */
	FW_PHASE_DELETE, /* only the extra elements (after IPVS dropped what they covered) */
	FW_PHASE_ALL,	 /* both, in one transaction */
	_FW_PHASE_MAX,
};

struct fw_sync_result {
	unsigned added, deleted;
	bool resynced; /* the sets were flushed and refilled (first sync, or after a failure) */
};

/*
 * Makes the sets hold `desired` (for the phase asked), in one netlink batch (one transaction;
 * the interval sets lb_source4/6 follow as libnftables text, a second one). Sends nothing when
 * nothing changed. The first sync after fw_open() and any sync after a failure rewrites every
 * set (flush and refill, atomically) instead of a diff. Returns 0, or -errno with the kernel's
 * or libnftables's message in err (may be NULL); a failed sync leaves the handle marked for a
 * full rewrite next time.
 */
int fw_sync(struct fw *fw, const struct plan_fw *desired, enum fw_phase phase,
	    struct fw_sync_result *ret_result, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/*
 * Verifies the table against the kernel. First its structure: when a netlink digest of its
 * chains, rules and set declarations equals the one taken when it was last known good, that is
 * all; otherwise the table is listed without set elements and compared (fw_structure_diff()) with the chains, hooks, rules and set
 * declarations kipvs installs; when they differ (a rule or chain deleted or flushed by hand, the
 * table gone), it is reinstalled in one transaction (delete and create, each set refilled with
 * the elements it held), logged at warn with what drifted. An absent table counts only once
 * this handle has created or kept it (before that, the next fw_base_ensure() creates it). Then
 * every set is read back (binary keys over netlink; lb_source4/6 as text) and compared with
 * `desired`. Returns 1 when both matched, 0 when not
 * (the next sync then rewrites the sets), or -errno when it cannot read or reinstall.
 */
int fw_verify(struct fw *fw, const struct plan_fw *desired) __attribute__((warn_unused_result));

/*
 * Compares the structure of two nftables texts of one table: `want` (what kipvs installs) and
 * `got` (`nft list table` output, with or without set elements and handles). Blocks (the table's
 * own lines, each set's declaration, each chain's hook line and rules in order) are compared
 * line by line, whitespace collapsed; set elements, comments ("# handle N") and the table's
 * comment are left out. Returns how many blocks differ (0: same structure) and names the
 * drifts in what (may be NULL; "; "-separated, truncated to what_size), or -ENOMEM.
 */
int fw_structure_diff(const char *want, const char *got, char *what, size_t what_size)
    __attribute__((warn_unused_result));

/* Deletes the table (nothing else). 1 when it was there, 0 when absent, or -errno. */
int fw_table_remove(const char *table, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/*
 * True when another table's forward hook has policy drop (Docker's FORWARD): kipvs's accept
 * cannot override it, so the caller warns. False also when the ruleset cannot be read.
 */
bool fw_forward_drop_is_present(struct fw *fw);

/*
 * The monitor: a socket on the nftables notification group, so a change someone else makes to
 * table inet <table> is seen when it happens. fw_monitor_fd() is readable when notifications
 * wait; fw_monitor_drain() reads them all and returns 1 when one was about the table (or some
 * were lost to a full buffer: anything may have changed), 0 when none was, or -errno. kipvs's
 * own changes notify too: the caller drains after each of its syncs and ignores the answer.
 */
struct fw_monitor;
int fw_monitor_open(const char *table, struct fw_monitor **ret_monitor)
    __attribute__((warn_unused_result));
struct fw_monitor *fw_monitor_free(struct fw_monitor *m);
int fw_monitor_fd(const struct fw_monitor *m);
int fw_monitor_drain(struct fw_monitor *m) __attribute__((warn_unused_result));

/*
 * Strict ARP (--ipvs-strict-arp, for MetalLB-style L2 announcements): when enable, sets
 * net.ipv4.conf.all.arp_ignore=1 and arp_announce=2 under <proc_root>/sys, each read first and
 * written only when different (logged at info with from= and to=). When !enable, touches
 * nothing. Returns how many it changed, or the first -errno (after trying both).
 */
int fw_strict_arp_apply(const char *proc_root, bool enable) __attribute__((warn_unused_result));

/* ---- The node sync with the packet path (ipvs/fw_node.c) ---- */

struct ipvs_node;
struct ipvs_node_result;
struct plan_table;

/* What fw_node_sync() did on the nftables side. */
struct fw_node_result {
	struct fw_sync_result add, del;
	int base_err;	      /* fw_base_ensure(): 0, or -errno (IPVS was then not synced) */
	int add_err, del_err; /* element phases: 0, or -errno (logged; the next sync retries) */
	unsigned conntrack_deleted; /* UDP conntrack entries deleted */
	int conntrack_err;	    /* the set's or ipvs_conntrack_udp_flush()'s failure, or 0 */
};

/*
 * One node sync with its packet path, in the order the issue asks for: the table's base chains
 * and masquerade rule exist before any VIP is bound (fw_base_ensure() on the first call), the
 * set elements a change adds go in before ipvs_node_sync() creates what they cover, and the
 * elements it drops go after IPVS removed what they covered. fw_desired comes from
 * plan_fw_build() on the same plan, or NULL: the sets are as the last call left them, no
 * element transaction. Returns ipvs_node_sync()'s result, or the base's -errno
 * (IPVS is then left alone: no VIP without SNAT). An element phase that fails is logged
 * (component=fw, with libnftables's text) and reported in ret_fw (may be NULL); the handle then
 * rewrites every set next time, so the caller's next sync (or verification) repairs it.
 * previous (may be NULL: unknown) is the table the last successful sync made; after IPVS is
 * synced, the UDP virtual servers plan_fw_udp_stale() names get their stale conntrack entries
 * deleted, all in one pass (plan_ct_build(), ipvs_conntrack_udp_flush(); failures logged, and
 * reported in ret_fw). part (NULL: none) is what ipvs_node_sync_part() takes: the virtual
 * servers of desired a change touched, when it kept desired's virtual servers.
 */
int fw_node_sync(struct fw *fw, struct ipvs_node *node, const struct plan_table *previous,
		 const struct plan_table *desired, const struct plan_table *part,
		 const struct plan_fw *fw_desired, struct ipvs_node_result *ret_result,
		 struct fw_node_result *ret_fw)
    __attribute__((warn_unused_result));

/*
 * The start-up checks of the packet path, each logged once (component=fw): a warning when
 * neither cluster CIDRs nor masquerade_all are configured (ClusterIP traffic from outside the
 * cluster is then not masqueraded), a warning when another table's forward hook drops by
 * policy (kipvs cannot override it), and strict ARP when strict_arp (fw_strict_arp_apply()).
 * Returns 0, or the strict-ARP -errno (logged too).
 */
int fw_start_checks(struct fw *fw, const struct fw_config *cfg, const char *proc_root,
		    bool strict_arp) __attribute__((warn_unused_result));

/* ---- UDP conntrack (ipvs/ipvs_conntrack.c) ---- */

struct plan_ct;

/* What one ipvs_conntrack_udp_flush() did. */
struct ipvs_conntrack_result {
	unsigned scanned; /* entries the dumps returned */
	unsigned matched; /* of them, stale by the set */
	unsigned deleted; /* of them, deleted (the others were gone before their delete) */
};

/*
 * Deletes the UDP conntrack entries the set (lib/plan_ct.h, sorted) makes stale, over ctnetlink
 * in this process: one table dump per IP family the set has (none for an empty set), parsed a
 * message at a time, with the deletes batched on a second socket. Memory stays bounded
 * whatever the table's size. Returns how many it deleted, or -errno (the first failure; the
 * rest was still tried). ret_result (may be NULL) is written in both cases.
 */
int ipvs_conntrack_udp_flush(const struct plan_ct *set, struct ipvs_conntrack_result *ret_result)
    __attribute__((warn_unused_result));
