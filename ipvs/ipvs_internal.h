/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layouts inside ipvs/ that its unit tests, the integration driver and the benchmarks need:
 * the kernel table as values, the operation list the reconcile diff produces, and the ops table
 * that applies it (netlink for real, a fake kernel in unit tests).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <limits.h>

#include <uthash.h>

#include "ipvs.h"
#include "plan.h"

#define IPVS_SCHED_MAX 16

/* The identity of a virtual server or of a real server inside one; no padding, so hashable. */
struct ipvs_key {
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes, the rest stays zero */
	uint16_t port;	  /* host order */
	uint8_t af;	  /* AF_INET or AF_INET6 */
	uint8_t protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0 in a real server's key */
};

/* The attributes of a virtual server that kipvs sets. */
struct ipvs_service {
	struct ipvs_key key;
	char sched[IPVS_SCHED_MAX];
	uint32_t flags;	  /* IP_VS_SVC_F_*, never IP_VS_SVC_F_HASHED */
	uint32_t timeout; /* persistence timeout, seconds */
	uint32_t netmask; /* persistence netmask as on the wire: 0xffffffff (IPv4) or 128 (IPv6) */
};

/* The attributes of a real server that kipvs sets. */
struct ipvs_dest {
	struct ipvs_key key;
	uint32_t fwd; /* IP_VS_CONN_F_MASQ and friends */
	uint32_t weight;
	uint32_t u_thresh;
	uint32_t l_thresh;
};

/* The kernel's 64-bit counters and rate estimates of a service or destination. */
struct ipvs_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
	uint64_t cps, inpps, outpps, inbps, outbps;
};

/* Read-only facts the kernel reports about a real server. */
struct ipvs_dest_state {
	uint32_t active_conns, inact_conns, persist_conns;
	struct ipvs_stats stats;
};

/* A real server in the actual table. */
struct ipvs_rs {
	struct ipvs_dest dest;
	struct ipvs_dest_state state;
	UT_hash_handle hh; /* keyed by dest.key */
};

/* A virtual server in the actual table, with its real servers. */
struct ipvs_vs {
	struct ipvs_service svc;
	struct ipvs_stats stats;
	struct ipvs_rs *rs; /* uthash by key */
	UT_hash_handle hh;  /* keyed by svc.key */
};

/* The kernel's IPVS table (or what kipvs knows of it), indexed by key. */
struct ipvs_table {
	struct ipvs_vs *vs; /* uthash */
};

/* Builds a key. protocol is 0 for a real server. */
void ipvs_key_init(struct ipvs_key *key, const struct net_addr *addr, uint16_t port,
		   uint8_t protocol);
void ipvs_key_to_net_addr(const struct ipvs_key *key, struct net_addr *ret_addr);
int ipvs_key_compare(const struct ipvs_key *a, const struct ipvs_key *b);
/* "10.0.0.1:80/tcp" for a service, "10.1.2.3:8080" for a real server (IPVS_KEY_STRLEN). */
#define IPVS_KEY_STRLEN (NET_ADDR_STRLEN + 8)
const char *ipvs_key_format(const struct ipvs_key *key, char *buf);
/* "tcp", "udp", "sctp", or "proto-N". Returns a static string for the three known ones. */
const char *ipvs_protocol_to_string(uint8_t protocol);
uint8_t ipvs_protocol_from_kube(enum kube_proto proto);

/* The service and real servers the kernel should have for one virtual server of the plan. */
void ipvs_service_from_plan(const struct plan_vs *vs, struct ipvs_service *ret_svc);
void ipvs_dest_from_plan(const struct plan_dest *d, struct ipvs_dest *ret_dest);
/* True when the attributes kipvs sets are equal (scheduler, flags, timeout, netmask). */
bool ipvs_service_attrs_equal(const struct ipvs_service *a, const struct ipvs_service *b);

/*
 * Table maintenance. Lookups return NULL when absent. _put() inserts or replaces the attributes
 * and returns the entry (NULL on ENOMEM); _del() frees the entry (and its real servers).
 */
struct ipvs_vs *ipvs_table_find(const struct ipvs_table *t, const struct ipvs_key *key);
struct ipvs_vs *ipvs_table_put(struct ipvs_table *t, const struct ipvs_service *svc);
void ipvs_table_del(struct ipvs_table *t, const struct ipvs_key *key);
struct ipvs_rs *ipvs_vs_find_rs(const struct ipvs_vs *vs, const struct ipvs_key *key);
struct ipvs_rs *ipvs_vs_put_rs(struct ipvs_vs *vs, const struct ipvs_dest *dest);
void ipvs_vs_del_rs(struct ipvs_vs *vs, const struct ipvs_key *key);
size_t ipvs_table_count(const struct ipvs_table *t, size_t *ret_n_rs);
/* Frees every entry; leaves an empty table. Accepts NULL. */
void ipvs_table_clear(struct ipvs_table *t);
/* Sorts the entries by key (services, and each service's real servers). */
void ipvs_table_sort(struct ipvs_table *t);
/* A deep copy; -ENOMEM. */
int ipvs_table_copy(const struct ipvs_table *src, struct ipvs_table *ret_dst)
    __attribute__((warn_unused_result));
/* Writes the table as `ipvsadm -Sn` would (services sorted), for tests and diagnostics. */
void ipvs_table_write(const struct ipvs_table *t, FILE *f);

/* One mutation of the kernel table. */
enum ipvs_op_kind {
	IPVS_OP_SERVICE_ADD,
	IPVS_OP_SERVICE_SET,
	IPVS_OP_SERVICE_DEL,
	IPVS_OP_DEST_ADD,
	IPVS_OP_DEST_SET,
	IPVS_OP_DEST_DEL,
	_IPVS_OP_KIND_MAX,
};

const char *ipvs_op_kind_to_string(enum ipvs_op_kind kind);

struct ipvs_op {
	enum ipvs_op_kind kind;
	int err;		      /* filled in by apply: 0, or the kernel's -errno */
	struct ipvs_service svc;      /* the full service for SERVICE_*; its key for DEST_* */
	struct ipvs_dest dest;	      /* DEST_* only */
	const struct plan_vs *origin; /* the plan's virtual server, for logs; NULL for deletes */
};

/* A growable list of operations. */
struct ipvs_oplist {
	struct ipvs_op *ops;
	size_t n, cap;
};

/* Appends a copy of op; -ENOMEM. */
int ipvs_oplist_append(struct ipvs_oplist *l, const struct ipvs_op *op)
    __attribute__((warn_unused_result));
void ipvs_oplist_clear(struct ipvs_oplist *l);
/* Writes one op as an `ipvsadm -R` line ("-A -t 10.0.0.1:80 -s rr"). */
void ipvs_op_write(const struct ipvs_op *op, FILE *f);

/*
 * The backend the reconciler drives: netlink for real, a fake kernel in unit tests.
 *   apply: performs ops[] in order (batched where it can); sets each op's err. Returns 0, or
 *          -ENOBUFS when some replies were lost (ops whose err stays 0 may have failed: the
 *          caller must verify), or another -errno when it could not send at all. Adds the
 *          number of batches it sent (sendmsg calls) to *ret_batches (may be NULL), also on
 *          failure.
 *   read:  reads the whole table into *ret_table (which must be empty). 0 or -errno.
 *   read_one: reads one virtual server with its real servers into *ret_table; -ESRCH if absent.
 */
struct ipvs_ops {
	int (*apply)(void *impl, struct ipvs_op *ops, size_t n_ops, unsigned *ret_batches);
	int (*read)(void *impl, struct ipvs_table *ret_table);
	int (*read_one)(void *impl, const struct ipvs_key *key, struct ipvs_table *ret_table);
	/* The virtual servers with their counters, no real servers. */
	int (*read_services)(void *impl, struct ipvs_table *ret_table);
};

/* ---- The periodic check (ipvs_check.c) ---- */

struct ipvs_check_result {
	unsigned services_gone;	   /* in actual, no longer in the kernel: dropped from actual */
	unsigned services_changed; /* attributes differed: actual now says what the kernel has */
	unsigned services_new;	   /* in the kernel, not in actual: read in full */
	unsigned services_read;	   /* the slice's virtual servers whose real servers were read */
	unsigned services_drifted; /* ... and whose real servers differed from actual */
	unsigned slice, slices;	   /* which slice this was, of how many */
};
/* Whether the check found actual differing from the kernel in anything. */
bool ipvs_check_found_drift(const struct ipvs_check_result *res);
/*
 * Brings actual up to date with the kernel at a bounded cost: one dump of the virtual servers
 * (gone, changed, new ones are found), then the real servers of one slice of the table
 * (*slice, advanced each call; every table up to 256 virtual servers is one slice, a larger
 * one at most 10). Drift then shows up in the next diff. 0 or -errno.
 */
int ipvs_check_run(const struct ipvs_ops *ops, void *impl, struct ipvs_table *actual,
		   unsigned *slice, struct ipvs_check_result *res) __attribute__((warn_unused_result));
/* How many slices a table of n_vs virtual servers is checked in. */
unsigned ipvs_check_slices(size_t n_vs);
/*
 * Replaces key's entry in t by a fresh read of it (or drops it: gone). 1 when the entry
 * differed (attributes, real servers, or its presence), 0 when it was the same, or -errno.
 */
int ipvs_table_reread(const struct ipvs_ops *ops, void *impl, struct ipvs_table *t,
		      const struct ipvs_key *key) __attribute__((warn_unused_result));

/*
 * The reconcile diff (pure): the operations that make `actual` match `desired`, in order:
 * for each desired virtual server by key, its NEW or SET_SERVICE, then NEW/SET_DEST of its real
 * servers in plan order, then DEL_DEST of the real servers it no longer has; then DEL_SERVICE
 * of virtual servers that are owned (owned(key) true) but no longer desired. Virtual servers
 * neither desired nor owned are never touched. Weights always follow the plan, so a weight 0
 * left behind by a crashed run is restored with a SET. Appends to *ops; -ENOMEM.
 */
typedef bool (*ipvs_owned_fn)(const struct ipvs_key *key, void *userdata);
int ipvs_diff_compute(const struct plan_table *desired, const struct ipvs_table *actual,
		      ipvs_owned_fn owned, void *userdata, struct ipvs_oplist *ops)
    __attribute__((warn_unused_result));
/* The same for one desired virtual server (desired may be NULL: delete it if present). */
int ipvs_diff_vs(const struct plan_vs *desired, const struct ipvs_key *key,
		 const struct ipvs_vs *actual, struct ipvs_oplist *ops)
    __attribute__((warn_unused_result));

/*
 * The diff with draining. keep(vs, rs, vs_desired) is asked about each real server of an owned
 * virtual server that the desired table no longer lists (vs_desired false: the whole virtual
 * server is gone); true keeps it at weight 0 (DEST_SET only when its weight is not 0 yet),
 * false deletes it. A gone virtual server with a kept real server stays; otherwise it is
 * deleted with SERVICE_DEL. owned as in ipvs_diff_compute(); either hook may be NULL.
 */
typedef bool (*ipvs_keep_fn)(const struct ipvs_vs *vs, const struct ipvs_rs *rs, bool vs_desired,
			     void *userdata);
struct ipvs_diff_hooks {
	ipvs_owned_fn owned;
	ipvs_keep_fn keep;
	void *userdata;
	/*
	 * desired is a part of the table (the virtual servers one change touched): only its
	 * virtual servers are compared; none of the others is deleted, whatever owned says.
	 */
	bool part;
};
int ipvs_diff_compute_hooks(const struct plan_table *desired, const struct ipvs_table *actual,
			    const struct ipvs_diff_hooks *hooks, struct ipvs_oplist *ops)
    __attribute__((warn_unused_result));
int ipvs_diff_vs_hooks(const struct plan_vs *desired, const struct ipvs_key *key,
		       const struct ipvs_vs *actual, const struct ipvs_diff_hooks *hooks,
		       struct ipvs_oplist *ops) __attribute__((warn_unused_result));

/* The netlink backend; impl is a struct ipvs_ctx. */
extern const struct ipvs_ops ipvs_nl_ops;

/* Counters of the netlink client, for tests and benchmarks. */
struct ipvs_nl_counters {
	uint64_t sendmsg;      /* sendmsg() calls */
	uint64_t messages;     /* netlink messages sent */
	uint64_t lost_replies; /* ENOBUFS seen on receive */
};
void ipvs_ctx_counters(const struct ipvs_ctx *ctx, struct ipvs_nl_counters *ret);
/* Caps the bytes per batch below the send buffer (tests: force many sendmsg). 0 restores. */
void ipvs_ctx_set_batch_limit(struct ipvs_ctx *ctx, size_t bytes);
/* Shrinks the receive buffer (tests: provoke lost replies). 0 or -errno. */
int ipvs_ctx_set_rcvbuf(struct ipvs_ctx *ctx, int bytes) __attribute__((warn_unused_result));
/* Sends each op alone with its own ACK (for the benchmark's baseline). */
void ipvs_ctx_set_ack_each(struct ipvs_ctx *ctx, bool on);

typedef int (*ipvs_service_fn)(const struct ipvs_service *svc, const struct ipvs_stats *stats,
			       void *userdata);
typedef int (*ipvs_dest_fn)(const struct ipvs_dest *dest, const struct ipvs_dest_state *state,
			    void *userdata);
/* Callbacks that fill a table (userdata: struct ipvs_table) or a vs (struct ipvs_vs). */
int ipvs_table_service_cb(const struct ipvs_service *svc, const struct ipvs_stats *stats,
			  void *table);
int ipvs_vs_dest_cb(const struct ipvs_dest *dest, const struct ipvs_dest_state *state, void *vs);
/* Dumps all services (one request) or one service's destinations (one request each). */
int ipvs_nl_services_dump(struct ipvs_ctx *ctx, ipvs_service_fn fn, void *userdata)
    __attribute__((warn_unused_result));
int ipvs_nl_dests_dump(struct ipvs_ctx *ctx, const struct ipvs_key *svc, ipvs_dest_fn fn,
		       void *userdata) __attribute__((warn_unused_result));

/* The whole table over netlink: one service dump, then one destination dump per service. */
int ipvs_nl_table_read(struct ipvs_ctx *ctx, struct ipvs_table *ret_table)
    __attribute__((warn_unused_result));
/* Services over netlink (one dump), real servers from one read of <proc_root>/net/ip_vs. */
int ipvs_nl_table_read_procfs(struct ipvs_ctx *ctx, const char *proc_root,
			      struct ipvs_table *ret_table) __attribute__((warn_unused_result));
/* How ipvs_nl_ops.read reads the table: ipvs_nl_table_read (default) or, on, _read_procfs. */
void ipvs_ctx_set_read_procfs(struct ipvs_ctx *ctx, bool on);

/* Reads <proc_root>/net/ip_vs in one pass into *ret_table (empty). 0 or -errno. */
int ipvs_procfs_read(const char *proc_root, struct ipvs_table *ret_table)
    __attribute__((warn_unused_result));
/* The same from an already open stream (tests). */
int ipvs_procfs_parse(FILE *f, struct ipvs_table *ret_table) __attribute__((warn_unused_result));

/* A fake kernel for unit tests: kernel semantics (EEXIST, ESRCH, ENOENT) and a record of ops. */
struct ipvs_fake {
	struct ipvs_table table;
	struct ipvs_oplist log; /* every op apply() saw, in order, with its result */
	size_t n_apply;		/* apply() calls (each counts as one batch) */
	size_t n_read_all, n_read_one; /* read() and read_one() calls */
	/* Makes the op at this index of the log (0-based, over all calls) fail with fail_err. */
	long fail_at;
	int fail_err;
	bool lose_replies; /* apply() returns -ENOBUFS after applying */
};
extern const struct ipvs_ops ipvs_fake_ops;
void ipvs_fake_init(struct ipvs_fake *fake);
void ipvs_fake_clear(struct ipvs_fake *fake);

/* The reconciler over any backend (unit tests pass the fake). */
int ipvs_sync_new_with_ops(const struct ipvs_ops *ops, void *impl, struct ipvs_sync **ret_sync)
    __attribute__((warn_unused_result));
const struct ipvs_table *ipvs_sync_actual(const struct ipvs_sync *s);
bool ipvs_sync_owns(const struct ipvs_sync *s, const struct ipvs_key *key);
int ipvs_sync_own(struct ipvs_sync *s, const struct ipvs_key *key)
    __attribute__((warn_unused_result));
void ipvs_sync_disown(struct ipvs_sync *s, const struct ipvs_key *key);
/* Calls fn for every owned key (its result is ignored); returns how many. */
int ipvs_sync_owned_foreach(const struct ipvs_sync *s, ipvs_owned_fn fn, void *userdata);
/* Changes each time a key is owned or disowned (the state file is rewritten then). */
unsigned long ipvs_sync_owned_generation(const struct ipvs_sync *s);
/*
 * Draining and exclusion: keep decides about real servers that leave (see ipvs_diff_hooks);
 * exclude(key) true makes an owned virtual server undeletable (--ipvs-exclude-cidrs).
 */
void ipvs_sync_set_hooks(struct ipvs_sync *s, ipvs_keep_fn keep, ipvs_owned_fn exclude,
			 void *userdata);
/* True when the actual table was read and no verification is pending. */
bool ipvs_sync_has_actual(const struct ipvs_sync *s);
/*
 * A verification without a diff: runs the check ipvs_sync_request_check() asked for (timed in
 * res) and sets *ret_drift when actual differed from the kernel, or when a full read is due
 * (none yet, or ipvs_sync_request_verify()). No check asked for: no read, no drift. 0 or -errno.
 */
int ipvs_sync_check_only(struct ipvs_sync *s, bool *ret_drift, struct ipvs_sync_result *res)
    __attribute__((warn_unused_result));
/*
 * ipvs_sync_run() over a part of the desired table (ipvs_diff_hooks.part): its virtual
 * servers only, none deleted. -EAGAIN when a read is due (none yet, a verification or a check
 * asked for): the caller runs a full sync instead.
 */
int ipvs_sync_run_part(struct ipvs_sync *s, const struct plan_table *part,
		       struct ipvs_sync_result *ret_result) __attribute__((warn_unused_result));
/* Reads the whole kernel table now (timings into res). 0 or -errno. */
int ipvs_sync_read(struct ipvs_sync *s, struct ipvs_sync_result *res)
    __attribute__((warn_unused_result));
/* Re-reads one virtual server with its real servers and their counters. 0 or -errno. */
int ipvs_sync_refresh(struct ipvs_sync *s, const struct ipvs_key *key)
    __attribute__((warn_unused_result));
/* Applies ops[] (built by the caller) and records them in the actual table and res. */
int ipvs_sync_apply(struct ipvs_sync *s, struct ipvs_op *ops, size_t n_ops,
		    struct ipvs_sync_result *res) __attribute__((warn_unused_result));

/* ---- The scheduler probe (ipvs_sched.c) ---- */

/* The probe's keys: 198.51.100.0:(IPVS_SCHED_PROBE_PORT + i)/tcp for i < IPVS_SCHED_PROBE_TRIES. */
#define IPVS_SCHED_PROBE_PORT 20000
#define IPVS_SCHED_PROBE_TRIES 8
void ipvs_sched_probe_key(unsigned i, struct ipvs_key *ret_key);
/*
 * Asks the kernel whether it has the scheduler: creates a TCP virtual server with it on the
 * first probe key that no virtual server holds (one that exists is someone else's and is left
 * alone), then deletes it; one operation per batch. 0 when the kernel took it; otherwise a
 * one-line reason in err and -ENOPKG (the kernel has no such scheduler), -EEXIST (every probe
 * key is taken), or the kernel's -errno for the add or the delete.
 */
int ipvs_sched_probe(const struct ipvs_ops *ops, void *impl, const char *scheduler, char *err,
		     size_t err_size) __attribute__((warn_unused_result));

/* ipvs_vip_open() without creating the interface: -ENODEV when it does not exist (cleanup). */
int ipvs_vip_open_existing(const char *ifname, struct ipvs_vip **ret_vip)
    __attribute__((warn_unused_result));
/* Calls fn for each address the interface holds; stops at the first negative result. */
int ipvs_vip_foreach(const struct ipvs_vip *v, int (*fn)(const struct net_addr *addr, void *ud),
		     void *userdata) __attribute__((warn_unused_result));

/* One sysctl kipvs wants: its path under /proc/sys and its value. */
struct ipvs_sysctl {
	const char *name; /* "net/ipv4/vs/conntrack" */
	int value;
};
/* The sysctls for this kernel version; writes up to max and returns how many there are. */
size_t ipvs_sysctl_wanted(int major, int minor, bool ipv6, struct ipvs_sysctl *ret, size_t max);
/*
 * Sets the integer sysctl `name` (under <proc_root>/sys) to value unless it already holds it,
 * and logs a change at info as component/msg with sysctl= (dotted), from= and to=. Returns 1
 * when it wrote, 0 when the value was already there, or -errno (not logged) when it cannot read,
 * parse or write. Used by ipvs_sysctl_apply() and fw_strict_arp_apply().
 */
int ipvs_sysctl_ensure(const char *proc_root, const char *name, long value, const char *component,
		       const char *msg) __attribute__((warn_unused_result));

/*
 * `ipvsadm -R` lines. parse_line: 0 and *ret_op, 1 for a blank or # line, -EINVAL. parse: appends
 * every line's op to *ops. to_plan: turns -A/-a ops into a sorted desired table (the caller frees
 * it with plan_table_clear()); -EINVAL for other ops or a destination before its service.
 */
int ipvs_rules_parse_line(const char *line, struct ipvs_op *ret_op)
    __attribute__((warn_unused_result));
int ipvs_rules_parse(const char *text, struct ipvs_oplist *ops) __attribute__((warn_unused_result));
int ipvs_rules_to_plan(const struct ipvs_oplist *ops, struct plan_table *ret_table)
    __attribute__((warn_unused_result));

/* ---- The state file of one network namespace (ipvs_state.c) ---- */

struct ipvs_state_pair {
	struct ipvs_key vs, rs;
};

/* A real server draining since since_ms (CLOCK_REALTIME, ms: survives a restart). */
struct ipvs_state_drain {
	struct ipvs_state_pair pair; /* hash key */
	uint64_t since_ms;
	bool vs_gone; /* its virtual server is no longer desired (set at each sync) */
	bool seen;    /* kept by the current sync */
	UT_hash_handle hh;
};

struct ipvs_state_addr {
	struct net_addr addr; /* hash key, zero-padded */
	UT_hash_handle hh;
};

struct ipvs_state {
	char dir[PATH_MAX], path[PATH_MAX], lock_path[PATH_MAX];
	uint64_t netns_inode;
	int lock_fd; /* -1: not locked */
	char ifname[16];
	bool link_created;   /* kipvs created the dummy interface */
	struct ipvs_key *vs; /* owned virtual servers as read (they go into ipvs_sync) */
	size_t n_vs;
	struct ipvs_state_addr *addrs;	 /* uthash: addresses kipvs bound */
	struct ipvs_state_drain *drains; /* uthash by pair */
	bool dirty;			 /* differs from the file */
};

/*
 * Names the files after the network namespace's inode (stat of netns_path, NULL:
 * /proc/self/ns/net). Must be called first; ipvs_state_clear() frees and unlocks.
 */
int ipvs_state_init(struct ipvs_state *st, const char *state_dir, const char *netns_path)
    __attribute__((warn_unused_result));
/*
 * Creates the directory and takes the lock: 0, -EBUSY when another process holds it, -errno.
 * The lock file is empty: flock() does not say who holds a lock, and a pid written into the
 * file would name the last process that took it, not necessarily the holder.
 */
int ipvs_state_lock(struct ipvs_state *st) __attribute__((warn_unused_result));
/* Reads the file: 0, -ENOENT (none), -EBADMSG (line number in *ret_bad_line), -errno. */
int ipvs_state_load(struct ipvs_state *st, unsigned *ret_bad_line)
    __attribute__((warn_unused_result));
int ipvs_state_parse(struct ipvs_state *st, FILE *f, unsigned *ret_bad_line)
    __attribute__((warn_unused_result));
/* Writes the state (owned keys from s, which may be NULL) to f, or atomically to the file. */
int ipvs_state_write(const struct ipvs_state *st, const struct ipvs_sync *s, FILE *f)
    __attribute__((warn_unused_result));
int ipvs_state_save(struct ipvs_state *st, const struct ipvs_sync *s)
    __attribute__((warn_unused_result));
int ipvs_state_remove(struct ipvs_state *st) __attribute__((warn_unused_result));
void ipvs_state_clear(struct ipvs_state *st);
struct ipvs_state_drain *ipvs_state_drain_find(const struct ipvs_state *st,
					       const struct ipvs_key *vs,
					       const struct ipvs_key *rs);
/* Adds (or finds) a drain record; NULL on ENOMEM. */
struct ipvs_state_drain *ipvs_state_drain_add(struct ipvs_state *st, const struct ipvs_key *vs,
					      const struct ipvs_key *rs, uint64_t since_ms);
void ipvs_state_drain_del(struct ipvs_state *st, struct ipvs_state_drain *d);
/*
 * Address sets (uthash of struct ipvs_state_addr, keyed by the zero-padded address): the state's
 * bound addresses and the node's working sets. find: the entry or NULL. add: 1 when added, 0
 * when already there, -ENOMEM. clear: frees every entry and leaves the set empty (NULL).
 */
struct ipvs_state_addr *ipvs_state_addrset_find(struct ipvs_state_addr *set,
						const struct net_addr *addr);
int ipvs_state_addrset_add(struct ipvs_state_addr **set, const struct net_addr *addr)
    __attribute__((warn_unused_result));
void ipvs_state_addrset_clear(struct ipvs_state_addr **set);
bool ipvs_state_addr_has(const struct ipvs_state *st, const struct net_addr *addr);
int ipvs_state_addr_add(struct ipvs_state *st, const struct net_addr *addr)
    __attribute__((warn_unused_result));
void ipvs_state_addr_del(struct ipvs_state *st, const struct net_addr *addr);

/* ---- The node (ipvs_node.c): what the tests may drive directly ---- */

/*
 * The node over any backend, without lock, modules, sysctls or interface (vip NULL): unit tests
 * pass the fake kernel and a now() clock in ms. The node borrows ops/impl.
 */
int ipvs_node_new_with_ops(const struct ipvs_node_config *cfg, const struct ipvs_ops *ops,
			   void *impl, uint64_t (*now_ms)(void), struct ipvs_node **ret_node)
    __attribute__((warn_unused_result));
struct ipvs_sync *ipvs_node_sync_handle(struct ipvs_node *node);
struct ipvs_state *ipvs_node_state(struct ipvs_node *node);

/* ---- Address batches (ipvs_vip_batch.c) ---- */

struct nl_sock;
/*
 * Sends RTM_NEWADDR (add) or RTM_DELADDR for each of addrs[] as a full-length prefix on
 * ifindex, many per sendmsg; errs[i] gets each answer (0 or -errno; -EIO when none came).
 * 0, or -errno when a batch could not be built or sent.
 */
int ipvs_vip_batch_change(struct nl_sock *sk, int ifindex, const struct net_addr *addrs, size_t n,
			  bool add, int *errs) __attribute__((warn_unused_result));
