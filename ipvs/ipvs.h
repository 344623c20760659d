/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvs/: the only code that touches the kernel's IPVS table. Public interface.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when the running kernel has IPVS: <proc_root>/net/ip_vs exists ("/proc" normally). */
bool ipvs_probe_is_loaded(const char *proc_root);

/* Parses "major.minor[.patch][-extra]" as uname -r prints it. 0 or -EINVAL. */
int ipvs_kernel_version_parse(const char *release, int *ret_major, int *ret_minor)
    __attribute__((warn_unused_result));

/*
 * The value net.ipv4.vs.conn_reuse_mode must have on a kernel of this version, or -1 to leave
 * it alone. Kernels 4.1 to 5.8 need 0: with 1 they drop the first SYN of a reused source port
 * for a second (kube-proxy #70747, #81775). 5.9 fixed that, and before 4.1 the knob is absent.
 */
int ipvs_conn_reuse_mode_wanted(int major, int minor);

#include <stdint.h>
#include <stdio.h>

#include "sync_phase.h"

struct plan_table;

/*
 * The connection to the kernel's IPVS: one generic netlink socket, the "IPVS" family resolved
 * once. ipvs_ctx_open() returns 0, -ENOENT when the kernel has no IPVS family (module not
 * loaded), or another -errno. The caller frees the context with ipvs_ctx_free().
 */
struct ipvs_ctx;
int ipvs_ctx_open(struct ipvs_ctx **ret_ctx) __attribute__((warn_unused_result));
/* Closes the socket and frees the context. Accepts NULL; returns NULL. */
struct ipvs_ctx *ipvs_ctx_free(struct ipvs_ctx *ctx);

/* GET_INFO: the IPVS version (0x010201 is 1.2.1) and the connection table size. */
int ipvs_info_get(struct ipvs_ctx *ctx, uint32_t *ret_version, uint32_t *ret_conn_tab_size)
    __attribute__((warn_unused_result));
/* GET_CONFIG / SET_CONFIG: connection timeouts in seconds; 0 in set leaves that one alone. */
int ipvs_timeouts_get(struct ipvs_ctx *ctx, uint32_t *ret_tcp, uint32_t *ret_tcp_fin,
		      uint32_t *ret_udp) __attribute__((warn_unused_result));
int ipvs_timeouts_set(struct ipvs_ctx *ctx, uint32_t tcp, uint32_t tcp_fin, uint32_t udp)
    __attribute__((warn_unused_result));

/*
 * Failed operations by kind ("add_service", "del_dest", "add_address", ...) and errno, for the
 * kipvs_netlink_errors_total metric. A sync keeps the first IPVS_FAILURE_KINDS distinct pairs;
 * a further pair is still counted in `failed` and logged, just not broken down.
 */
#define IPVS_FAILURE_KINDS 16
struct ipvs_failure {
	const char *op;
	int err; /* -errno */
	unsigned n;
};
void ipvs_failure_note(struct ipvs_failure *failures, size_t *n_failures, const char *op, int err);

/* What one sync did, for the summary line and the exit code. */
struct ipvs_sync_result {
	unsigned services_added, services_changed, services_deleted;
	unsigned dests_added, dests_changed, dests_deleted;
	unsigned operations; /* sent, including follow-ups */
	unsigned batches;    /* sendmsg calls that carried them (one per batch) */
	unsigned repaired;   /* answers (EEXIST, ESRCH, ENOENT) that led to a re-read */
	unsigned failed;     /* operations that failed and wait for the next sync; each logged */
	struct ipvs_failure failures[IPVS_FAILURE_KINDS];
	size_t n_failures;
	bool verified;	   /* the whole kernel table was read */
	bool checked;	   /* the periodic check ran (ipvs_sync_request_check()) */
	bool lost_replies; /* ENOBUFS: replies were lost, the table was read again */
	double read_ms, diff_ms, apply_ms; /* where the time went */
};

/*
 * The reconciler: keeps the actual table in memory (read in full on the first run and after
 * ipvs_sync_request_verify()), and on each run makes the kernel match the desired table with
 * the fewest operations, never touching virtual servers it does not own. The sync borrows ctx.
 */
struct ipvs_sync;
int ipvs_sync_new(struct ipvs_ctx *ctx, struct ipvs_sync **ret_sync)
    __attribute__((warn_unused_result));
struct ipvs_sync *ipvs_sync_free(struct ipvs_sync *s);
/* 0 when the sync ran (ret_result->failed may be non-zero), or -errno when it could not. */
int ipvs_sync_run(struct ipvs_sync *s, const struct plan_table *desired,
		  struct ipvs_sync_result *ret_result) __attribute__((warn_unused_result));
/* The next run reads the whole kernel table first and repairs any drift. */
void ipvs_sync_request_verify(struct ipvs_sync *s);
/*
 * The next run checks the table first at a bounded cost: every virtual server, the real
 * servers of one slice (all of them up to 256 virtual servers; at most 10 slices).
 */
void ipvs_sync_request_check(struct ipvs_sync *s);
/* Writes the operations a run would make, as `ipvsadm -R` lines; returns their number. */
int ipvs_sync_plan_diff(struct ipvs_sync *s, const struct plan_table *desired, FILE *f)
    __attribute__((warn_unused_result));

/*
 * Sets the IPVS sysctls under <proc_root>/sys (conntrack, expire_nodest_conn,
 * expire_quiescent_template, conn_reuse_mode by kernel version, IPv4 forwarding, and IPv6
 * forwarding when ipv6) where they differ; logs each change at info. Returns how many it changed,
 * or the first -errno (after trying all of them).
 */
int ipvs_sysctl_apply(const char *proc_root, int major, int minor, bool ipv6)
    __attribute__((warn_unused_result));

/*
 * VIP binding on a dummy interface (kube-ipvs0 by default). ipvs_vip_open() finds the interface
 * or creates it (NOARP, up), and reads the addresses it holds once; 0 or -errno. The caller
 * frees the handle with ipvs_vip_free(), which leaves the interface and its addresses alone.
 */
struct ipvs_vip;
struct net_addr;
int ipvs_vip_open(const char *ifname, struct ipvs_vip **ret_vip)
    __attribute__((warn_unused_result));
struct ipvs_vip *ipvs_vip_free(struct ipvs_vip *v);
/* True when this handle created the interface (cleanup may then delete it). */
bool ipvs_vip_created_link(const struct ipvs_vip *v);
/* How many addresses the interface holds, as far as the handle knows. */
size_t ipvs_vip_count(const struct ipvs_vip *v);
/*
 * Makes the interface hold exactly want[] (each as /32 or /128): binds the missing, unbinds the
 * rest; only the differences reach the kernel. Counts go to ret_added/ret_removed (may be NULL).
 * Returns 0, or the first -errno after trying every address.
 */
int ipvs_vip_sync(struct ipvs_vip *v, const struct net_addr *want, size_t n_want,
		  unsigned *ret_added, unsigned *ret_removed) __attribute__((warn_unused_result));
/*
 * Reads the node's addresses again, as ipvs_vip_open() does: what someone else deleted from the
 * interface or added to another one since. An interface that vanished is created again
 * (*ret_recreated). Called on each periodic verification. 1 when what it read differs from
 * the last read (or the interface was created again), 0 when it is the same, or -errno.
 */
int ipvs_vip_refresh(struct ipvs_vip *v, bool *ret_recreated) __attribute__((warn_unused_result));
/* Deletes the interface if this handle created it; 0 otherwise. */
int ipvs_vip_remove_link(struct ipvs_vip *v) __attribute__((warn_unused_result));

/*
 * Whether an address may be bound on the dummy interface. _bind_many / _unbind_many add or
 * delete addrs[] (each as /32 or /128) in batches, errs[i] each one's 0 or -errno (both are
 * idempotent); they return -errno when the batch broke off (the unanswered ones then hold
 * -EIO). _unbind: one address. _has: the handle's view of the interface. _is_local_elsewhere:
 * the address was on another interface of this node at the handle's last read (open or
 * refresh); such an address -- an externalIP that is the node's own -- must not be bound on
 * the dummy interface.
 */
int ipvs_vip_bind_many(struct ipvs_vip *v, const struct net_addr *addrs, size_t n, int *errs)
    __attribute__((warn_unused_result));
int ipvs_vip_unbind_many(struct ipvs_vip *v, const struct net_addr *addrs, size_t n, int *errs)
    __attribute__((warn_unused_result));
int ipvs_vip_unbind(struct ipvs_vip *v, const struct net_addr *addr)
    __attribute__((warn_unused_result));
bool ipvs_vip_has(const struct ipvs_vip *v, const struct net_addr *addr);
bool ipvs_vip_is_local_elsewhere(const struct ipvs_vip *v, const struct net_addr *addr);
/* Marks the interface as created by kipvs (known from the state file after a restart). */
void ipvs_vip_set_created_link(struct ipvs_vip *v, bool created);

/* ---- The node: the orchestration object `kipvs run` and `kipvs cleanup` use ---- */

struct net_prefix;

/* Where the state files and locks live (tmpfs: gone at reboot, as the IPVS table is). */
#define IPVS_NODE_STATE_DIR "/run/kipvs"

struct ipvs_node_config {
	const char *proc_root;	   /* "/proc" (tests may point elsewhere for sysctls) */
	const char *state_dir;	   /* "/run/kipvs" */
	const char *dummy_ifname;  /* "kube-ipvs0" */
	const char *scheduler;	   /* probed at open (ipvs_sched_probe()); NULL: "rr" */
	uint64_t drain_timeout_ms; /* 0: no draining, real servers are deleted at once */
	const struct net_prefix *exclude_cidrs; /* virtual servers inside are never touched */
	size_t n_exclude_cidrs;
	uint32_t tcp_timeout, tcpfin_timeout, udp_timeout; /* seconds; 0 leaves that one alone */
	bool ipv6;	  /* also set IPv6 forwarding (the node serves IPv6 virtual servers) */
	bool read_only;	  /* `plan --diff`: no lock, no module loading, no sysctls, no interface */
	bool no_modprobe; /* never run modprobe (tests) */
};

/*
 * ipvs_node_open(): loads IPVS (probes <proc_root>/net/ip_vs; if missing runs `modprobe ip_vs`),
 * takes the per-network-namespace lock under state_dir (-EBUSY when another kipvs in this
 * network namespace holds it), reads the state file, asks the kernel whether it has the
 * scheduler (a probe virtual server created and deleted before any other change), finds or
 * creates the dummy interface, applies the sysctls and the timeouts, reads the kernel table and
 * logs once a summary of foreign services on the interface's addresses. A read_only node does
 * not probe. Returns 0, or -errno with a one-line reason in err (which may be NULL): -ENOENT
 * IPVS missing (the message names what), -ENOPKG the kernel has no such scheduler, -EBUSY
 * locked, -EACCES/-EPERM not root. The caller frees the node with
 * ipvs_node_free(), which releases the lock and leaves every kernel object in place.
 */
struct ipvs_node;
int ipvs_node_open(const struct ipvs_node_config *cfg, struct ipvs_node **ret_node, char *err,
		   size_t err_size) __attribute__((warn_unused_result));
struct ipvs_node *ipvs_node_free(struct ipvs_node *node);

/* What one sync (or sweep) did: the counts of the summary line. */
struct ipvs_node_result {
	struct ipvs_sync_result sync;
	unsigned addresses_added, addresses_deleted;
	unsigned draining; /* real servers at weight 0 waiting for their connections to end */
	double took_ms;
	struct sync_phases phases; /* read, diff, ipvs, vips, record here; fw adds its own */
};

/*
 * One sync: makes the kernel match `desired` plus what is still draining. Real servers that
 * left the table start draining (TCP, drain timeout > 0) or go at once; drainers that are idle
 * or expired are deleted; VIPs are bound before their services and unbound after the last one
 * goes (never an address a foreign service uses); the state file is rewritten when ownership
 * or drains changed. 0 when it ran (ret_result->sync.failed may be non-zero), or -errno.
 */
int ipvs_node_sync(struct ipvs_node *node, const struct plan_table *desired,
		   struct ipvs_node_result *ret_result) __attribute__((warn_unused_result));
/*
 * ipvs_node_sync() for a change that kept desired's virtual servers (only real servers or
 * attributes of some of them changed): part holds those virtual servers (as in desired), and
 * only they are diffed and synced, their drainers decided; no address changes, no other
 * virtual server is read or deleted. Falls back to the full ipvs_node_sync() of desired when a
 * read is due (a verification, a check) or the last sync was not clean. 0 or -errno.
 */
int ipvs_node_sync_part(struct ipvs_node *node, const struct plan_table *desired,
			const struct plan_table *part, struct ipvs_node_result *ret_result)
    __attribute__((warn_unused_result));
/*
 * The periodic verification when the desired table is the one the last sync was given: the
 * check ipvs_node_request_verify() asked for (the virtual servers and one slice of real
 * servers, the node's addresses), without a diff. *ret_drift is false only when the last sync
 * succeeded in full and the check found the kernel as it left it; otherwise the caller runs
 * ipvs_node_sync() (which diffs against what the check read). 0 or -errno.
 */
int ipvs_node_check_only(struct ipvs_node *node, bool *ret_drift,
			 struct ipvs_node_result *ret_result) __attribute__((warn_unused_result));
/*
 * Reads only the virtual servers that have draining real servers and deletes the drainers that
 * are idle (no active or inactive connection) or expired; then the VS of a deleted Service once
 * its last drainer is gone, and its VIP. 0 or -errno. ret_result may be NULL.
 */
int ipvs_node_drain_sweep(struct ipvs_node *node, struct ipvs_node_result *ret_result)
    __attribute__((warn_unused_result));
unsigned ipvs_node_draining_count(const struct ipvs_node *node);
/*
 * The next sync checks the kernel table (every virtual server, one slice of real servers:
 * ipvs_sync_request_check()) and reads the interface's addresses, and repairs drift.
 */
void ipvs_node_request_verify(struct ipvs_node *node);
/*
 * Reads the kernel table afresh; true when it matches `desired` plus the servers still
 * draining, for the services kipvs owns (false also when the table cannot be read).
 */
bool ipvs_node_matches(struct ipvs_node *node, const struct plan_table *desired);
/*
 * Writes the operations a sync would make as `ipvsadm -R` lines (-A/-E/-D, -a/-e/-d) without
 * making them; returns their number or -errno. Works on a read-only node.
 */
int ipvs_node_plan_diff(struct ipvs_node *node, const struct plan_table *desired, FILE *f)
    __attribute__((warn_unused_result));

/* One owned virtual server's counters, for metrics (strings valid during the callback). */
struct ipvs_node_vs_stats {
	const char *vs; /* "10.0.0.1:80/tcp" */
	const struct net_addr *addr;
	uint16_t port;
	const char *protocol; /* "tcp", "udp", "sctp" */
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};
typedef void (*ipvs_node_stats_fn)(const struct ipvs_node_vs_stats *st, void *userdata);
/* Dumps the services (one netlink request) and calls fn for each owned one. 0 or -errno. */
int ipvs_node_stats_foreach(struct ipvs_node *node, ipvs_node_stats_fn fn, void *userdata)
    __attribute__((warn_unused_result));

/* "sync: services +A ~C -D, destinations +A ~C -D, addresses +A -D, draining N, took T ms" */
void ipvs_node_result_format(const struct ipvs_node_result *r, char *buf, size_t size);

/*
 * Removes everything kipvs owns according to the state file: its virtual servers (with their
 * destinations), the addresses it bound that no foreign service uses, and the dummy interface
 * if kipvs created it and nothing else is left on it; then the state file. Takes the lock
 * (-EBUSY while a kipvs runs in this namespace). Never touches anything else. 0 or -errno with
 * a one-line reason in err. Counts go to ret_result (may be NULL).
 */
int ipvs_node_cleanup(const struct ipvs_node_config *cfg, struct ipvs_node_result *ret_result,
		      char *err, size_t err_size) __attribute__((warn_unused_result));
