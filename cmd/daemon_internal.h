/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's parts, for the unit tests: the seam to the kernel side (real: ipvs_node; tests: a recording fake), and the loop as an object that a test
 * can build on its own libev loop, drive, and stop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "fw.h"
#include "ipvs.h"
#include "plan_fw.h"

struct ev_loop;
struct kube_options;
struct plan_fw;
struct plan_input;
struct plan_merge;
struct plan_table;

/* ---- The kernel seam ---- */

/* What the kernel side is opened with: the IPVS node and the packet path (nftables). */
struct daemon_kernel_config {
	struct ipvs_node_config node;
	struct fw_config fw;
	bool strict_arp; /* --ipvs-strict-arp */
};

/* What the loop needs of the kernel side; daemon_kernel_ipvs is ipvs_node plus fw. */
enum {
	DAEMON_SAME_PLAN = 1 << 0, /* desired */
	DAEMON_SAME_SETS = 1 << 1, /* fw_desired */
};

struct daemon_kernel_ops {
	int (*open)(const struct daemon_kernel_config *cfg, void **ret_kernel, char *err,
		    size_t err_size);
	void *(*free)(void *kernel);
	/*
	 * fw_desired: plan_fw_build() of desired; the packet path's sets. same: DAEMON_SAME_*
	 * flags, what is as the last sync (that returned 0) was given: with both, a verification
	 * may only read and compare (when that sync succeeded in full and the reads find the
	 * kernel as it left it); with DAEMON_SAME_SETS, the sets need no nftables transaction.
	 * part (NULL: none): the virtual servers of desired that changed, when the change kept
	 * desired's virtual servers as the last sync had them (only these need a diff).
	 */
	int (*sync)(void *kernel, const struct plan_table *desired,
		    const struct plan_fw *fw_desired, unsigned same,
		    const struct plan_table *part, struct ipvs_node_result *ret_result);
	int (*drain_sweep)(void *kernel, struct ipvs_node_result *ret_result);
	unsigned (*draining_count)(const void *kernel);
	void (*request_verify)(void *kernel);
	int (*stats_foreach)(void *kernel, ipvs_node_stats_fn fn, void *userdata);
	/*
	 * A file descriptor readable when the kernel reports a change someone else may have made
	 * (the nftables monitor), or -1 (none: the periodic verification is all there is), and
	 * its handler: true when the next sync must read back and repair.
	 */
	int (*watch_fd)(const void *kernel); /* may become >= 0 after a sync */
	bool (*watch_changed)(void *kernel);
};

extern const struct daemon_kernel_ops daemon_kernel_ipvs;

/*
 * The kernel side's configuration from the options (proc_root, state_dir: NULL for "/proc",
 * IPVS_NODE_STATE_DIR); the daemon and `kipvs run --once` (daemon_sync_once()) both use it.
 */
void daemon_kernel_config_init(const struct kube_options *opts, const char *proc_root,
			       const char *state_dir, struct daemon_kernel_config *ret);

/* ---- The loop (daemon.c) ---- */

struct daemon;

/* Called after every sync attempt (r: 0 or -errno), for tests. */
typedef void (*daemon_sync_fn)(struct daemon *d, int r, void *userdata);

/* What daemon_run() takes from the environment; tests replace parts of it. */
struct daemon_env {
	struct ev_loop *loop; /* NULL: libev's default loop (signals need it) */
	const struct daemon_kernel_ops
	    *kernel;		   /* required; daemon_run() passes daemon_kernel_ipvs */
	const char *notify_socket; /* NULL: $NOTIFY_SOCKET */
	const char *proc_root;	   /* NULL: "/proc" */
	const char *state_dir;	   /* NULL: "/run/kipvs" */
	const char *sa_dir;	   /* in-cluster service account; NULL: the standard one */
	bool no_signals;	   /* do not install SIGTERM/SIGINT watchers */
	daemon_sync_fn on_sync;
	void *userdata;
};

/*
 * Builds the daemon (sources, plan, kernel, health servers) and starts its watchers on the
 * loop; nothing is programmed before the sources are synced. Returns 0, or -errno after logging
 * the reason once (exit status 1). Free with daemon_free(), which leaves the kernel state in
 * place.
 */
int daemon_new(const struct kube_options *opts, const struct daemon_env *env,
	       struct daemon **ret_daemon) __attribute__((warn_unused_result));
struct daemon *daemon_free(struct daemon *d);

/* Runs the loop until daemon_stop() (or a signal). */
void daemon_loop(struct daemon *d);
/* Ends daemon_loop() after the current callback: STOPPING=1, then the loop breaks. */
void daemon_stop(struct daemon *d);

/* State, for tests. */
unsigned daemon_sync_count(const struct daemon *d); /* kernel syncs that returned 0 */
bool daemon_is_ready(const struct daemon *d);	    /* READY=1 was sent (first good sync) */

/* ---- The daemon's layout, shared by daemon.c and daemon_sync.c ---- */

struct health;
struct health_notify;
struct kube_cache;
struct kube_client;
struct kube_source;
struct net_addr;
struct daemon_nolocal;

struct daemon {
	struct ev_loop *loop;
	const struct kube_options *opts;
	struct daemon_env env;
	const struct daemon_kernel_ops *kops;
	void *kernel;

	struct kube_cache *cache;
	struct kube_client *client; /* the API source, or */
	struct kube_source *source; /* the --from source */
	struct plan_merge *plan; /* the incremental plan: only changed Services re-planned */
	struct health *health;
	struct health_notify *notify;

	/* This node's addresses for NodePort virtual servers, and for health-check node ports. */
	struct net_addr *node_addrs;
	size_t n_node_addrs;
	bool node_addrs_known;	/* resolved at least once */
	bool node_addrs_warned; /* "no node address" logged */
	bool replan_all;	/* the next sync re-plans every Service */

	struct plan_fw fw_desired; /* the packet path's sets of the last plan */
	bool have_fw_desired;	   /* fw_desired is that of the current plan */
	struct daemon_fw_digest *fw_digests; /* each Service's elements, as a digest (daemon_fw.c) */
	/*
	 * The plan, the sets, the plan's set of virtual servers (keys) changed since the last
	 * kernel sync that returned 0.
	 */
	bool plan_undelivered, sets_undelivered, keys_undelivered;

	ev_idle sync_idle;     /* a sync as soon as the loop is idle */
	ev_timer sync_timer;   /* a sync later: --ipvs-min-sync-period, or a retry's backoff */
	ev_timer verify_timer; /* every --ipvs-sync-period: verify the kernel, repair drift */
	ev_timer drain_timer;  /* while real servers drain: sweep */
	ev_io kernel_watch;    /* the kernel side's watch_fd: someone else changed something */
	ev_timer wait_timer;   /* --sync-timeout: warn while the sources are not synced */
	ev_signal sigterm, sigint;

	double last_sync_mono; /* ev_now() of the last sync attempt; 0: none */
	double retry_at_mono;  /* no sync before this (backoff); 0: none */
	unsigned failures;     /* consecutive failed syncs */
	bool kernel_dirty; /* the kernel may differ from the plan: sync it even without changes */
	bool synced_sources_logged;
	bool ready; /* READY=1 sent */
	bool stopping;
	unsigned syncs;				    /* kernel syncs that returned 0 */
	/* CLOCK_REALTIME at start: older last-change-trigger-times are history, not latency
	 * (kube-proxy's trackerStartTime). */
	int64_t started_ns;
	size_t pending_services, pending_endpoints; /* changes queued since the last sync */
	char status[256];			    /* the last STATUS= sent */
	/* Services with a Local policy and no local endpoint (daemon_sync.c), and their counts. */
	struct daemon_nolocal *nolocal;
	size_t n_nolocal_internal, n_nolocal_external;
};

/*
 * daemon_fw.c: the packet path's sets for view into d->fw_desired. They follow the plan and the
 * cached Services (traffic policy, source ranges, health-check node ports: a change there can
 * leave the IPVS plan as it was), so the caller calls this when a Service or the plan changed;
 * keys are the Services that changed. Unless all (everything was re-planned, or a claim that
 * other Services share moved), the sets are kept without a build when each of those Services
 * gives the elements it gave last time (by digest). 1 when the sets differ from the last
 * ones, 0 when not, or -errno (none kept then).
 */
int daemon_fw_refresh(struct daemon *d, const struct plan_table *view, char **keys,
		      size_t n_keys, bool all);
/* daemon_fw.c: drops the sets and the digests. */
void daemon_fw_forget(struct daemon *d);

/* daemon_sync.c: one pass of the loop: changes -> plan -> kernel -> health. */
void daemon_sync_run(struct daemon *d);
/* Starts watching the kernel side's watch_fd once it has one (after a sync); idempotent. */
void daemon_kernel_watch_start(struct daemon *d);
/* daemon_sync.c: recomputes the node addresses; true when they changed. */
bool daemon_node_addrs_refresh(struct daemon *d);
/* daemon_sync.c: true when the node addresses come from the interfaces (--nodeport-addresses). */
bool daemon_node_addrs_from_interfaces(const struct kube_options *o);
/* daemon.c: asks for a sync, as soon as the rate limit and the backoff allow. */
void daemon_sync_schedule(struct daemon *d);
/*
 * daemon_sync.c: reads the per-virtual-server statistics into the metrics; the health
 * service's on_scrape hook (a struct daemon), so they are read when /metrics is scraped only.
 */
void daemon_stats_refresh(void *userdata);
/* daemon_sync.c: forgets the no-local-endpoint records. */
void daemon_nolocal_clear(struct daemon *d);
/* daemon_sync.c: counts a sync's or sweep's operations in the netlink metrics. */
void daemon_netlink_count(struct health *h, const struct ipvs_node_result *res);
/* daemon.c: logs (at debug) a notification that could not be sent; systemd may be gone. */
void daemon_notify_check(int r, const char *what);
/* CLOCK_REALTIME in nanoseconds, for health/ and the metrics. */
int64_t daemon_now_ns(void);
