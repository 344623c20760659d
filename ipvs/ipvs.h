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

/* What one sync did, for the summary line and the exit code. */
struct ipvs_sync_result {
	unsigned services_added, services_changed, services_deleted;
	unsigned dests_added, dests_changed, dests_deleted;
	unsigned operations; /* sent, including follow-ups */
	unsigned repaired;   /* answers (EEXIST, ESRCH, ENOENT) that led to a re-read */
	unsigned failed;     /* operations that failed and wait for the next sync; each logged */
	bool verified;	     /* the whole kernel table was read */
	bool lost_replies;   /* ENOBUFS: replies were lost, the table was read again */
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
/* Deletes the interface if this handle created it; 0 otherwise. */
int ipvs_vip_remove_link(struct ipvs_vip *v) __attribute__((warn_unused_result));
