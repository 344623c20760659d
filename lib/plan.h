/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desired IPVS table of this node: what the plan (a pure function of the cached objects,
 * this node's identity and the options) computes, and what ipvs/ makes the kernel match.
 * No kernel, no network, no clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"

struct kube_options;

#define PLAN_SCHEDULER_MAX 16 /* the kernel's IP_VS_SCHEDNAME_MAXLEN, with the NUL */

/*
 * Scheduler flags (`ipvsadm -b`), with the kernel's values (IP_VS_SVC_F_SCHED1..3). Their
 * meaning depends on the scheduler: sh and mh read FALLBACK (sh-fallback, mh-fallback: a
 * connection that hashes to an unavailable destination, e.g. one at weight 0, goes to the next
 * available one) and PORT (sh-port, mh-port: the source port is hashed too).
 */
#define PLAN_SCHED_F_FALLBACK 0x0008u
#define PLAN_SCHED_F_PORT 0x0010u
#define PLAN_SCHED_F_3 0x0020u
#define PLAN_SCHED_F_MASK (PLAN_SCHED_F_FALLBACK | PLAN_SCHED_F_PORT | PLAN_SCHED_F_3)

enum plan_vs_kind {
	PLAN_VS_CLUSTER_IP,
	PLAN_VS_EXTERNAL_IP,
	PLAN_VS_LOAD_BALANCER,
	PLAN_VS_NODE_PORT,
	_PLAN_VS_KIND_MAX,
};

const char *plan_vs_kind_to_string(enum plan_vs_kind kind);

/* A real server: always masquerade (NAT) forwarding. */
struct plan_dest {
	struct net_addr addr;
	uint16_t port;
	uint32_t weight; /* 1 to receive new connections, 0 to drain */
};

/* A virtual server, keyed by (family, protocol, address, port). */
struct plan_vs {
	struct net_addr addr;
	enum kube_proto proto;
	uint16_t port;
	char scheduler[PLAN_SCHEDULER_MAX];
	uint32_t sched_flags;	 /* PLAN_SCHED_F_*, from the scheduler (plan_scheduler_flags()) */
	bool persistent;	 /* ClientIP affinity: persistence with a full-length netmask */
	uint32_t timeout;	 /* persistence timeout in seconds, when persistent */
	struct plan_dest *dests; /* sorted by (address, port) */
	size_t n_dests;
	/* The Service port that asked for it, for logs and metrics; owned strings. */
	char *svc_namespace;
	char *svc_name;
	char *port_name;
	enum plan_vs_kind kind;
};

/* A set of virtual servers, sorted by (family, protocol, address, port). */
struct plan_table {
	struct plan_vs *vs;
	size_t n_vs;
};

/* Orders two virtual servers by their key: family, protocol, address, port. */
int plan_vs_key_compare(const struct plan_vs *a, const struct plan_vs *b);
/* plan_vs_key_compare() for qsort() and bsearch() over arrays of struct plan_vs. */
int plan_vs_key_qsort_compare(const void *a, const void *b);
/* The virtual server of t (sorted by key) with key's key, or NULL. */
const struct plan_vs *plan_table_find(const struct plan_table *t, const struct plan_vs *key);
/*
 * Orders two claims on one key, the winner first: kind (ClusterIP, NodePort, LoadBalancer,
 * externalIP: addresses the API server allocates before user-set ones), then namespace, name and
 * port name.
 */
int plan_vs_claim_compare(const struct plan_vs *a, const struct plan_vs *b);

/* Frees the virtual servers' contents and the array; leaves an empty table. Accepts NULL. */
void plan_table_clear(struct plan_table *table);

/* ---- Computing the table (lib/plan.c) ---- */

/* What a note is about: something the plan skipped, could not use, or had to choose. */
enum plan_note_kind {
	PLAN_NOTE_SKIPPED,  /* a Service is deliberately not programmed (ExternalName, headless,
			       labels) */
	PLAN_NOTE_CONFLICT, /* a virtual server key was already claimed; this claim lost */
	PLAN_NOTE_IGNORED,  /* part of an object cannot be used (e.g. an externalIP of another
			       family) */
	PLAN_NOTE_UNUSED,   /* an EndpointSlice that serves no cached Service */
	PLAN_NOTE_REFUSED,  /* a filter lets no source in (source ranges of the other family) */
	_PLAN_NOTE_KIND_MAX,
};

const char *plan_note_kind_to_string(enum plan_note_kind kind);

/* One note; the strings are valid only during the callback. */
struct plan_note {
	enum plan_note_kind kind;
	enum kube_kind object_kind; /* KUBE_KIND_SERVICE or KUBE_KIND_ENDPOINT_SLICE */
	const char *ns;
	const char *name;
	const char *detail; /* short human text, e.g. "type ExternalName" */
};

typedef void (*plan_note_fn)(const struct plan_note *note, void *userdata);

/*
 * Everything the plan reads. The caller resolves the node addresses (plan_node_addrs_resolve)
 * and keeps every pointer valid during the call; the plan copies what it keeps.
 */
struct plan_input {
	const struct kube_cache *cache;
	const char *node_name; /* this node, for nodeName comparisons; NULL: no endpoint is local */
	const struct net_addr *node_addrs; /* addresses for NodePort virtual servers */
	size_t n_node_addrs;
	const char *scheduler;	/* NULL or "": "rr" */
	const char *proxy_name; /* --service-proxy-name; NULL when not given */
	plan_note_fn note;	/* optional: told of every kind of note above */
	void *note_userdata;
};

#define PLAN_SCHEDULER_DEFAULT "rr"

/*
 * Why the Service gets no virtual server ("type ExternalName", "headless", a label), or NULL
 * when it is programmed.
 */
const char *plan_service_skip_reason(const struct kube_service *svc, const char *proxy_name);

/*
 * The virtual servers of one Service, with their real servers, reading only that Service's
 * EndpointSlices (cost proportional to the Service, not to the cache). ret must be an empty
 * table; on success it holds the virtual servers sorted by key, without duplicate keys (the
 * first by kind -- ClusterIP, NodePort, LoadBalancer, externalIP -- wins, the others are noted
 * as conflicts). A skipped Service yields 0 virtual servers and one PLAN_NOTE_SKIPPED note.
 * Returns the number of virtual servers or -ENOMEM (ret is then left empty). The caller frees
 * ret's contents with plan_table_clear().
 */
int plan_service(const struct plan_input *in, const struct kube_service *svc,
		 struct plan_table *ret) __attribute__((warn_unused_result));

/*
 * The whole table: plan_service() for every cached Service, merged by a plan_merge (below) and
 * sorted. A key claimed by two Services goes to the first by (kind as above, namespace, name);
 * the others are noted as conflicts. EndpointSlices that serve no cached Service are noted as
 * unused. ret must be empty; returns the number of virtual servers or -ENOMEM (ret left
 * empty). Free with plan_table_clear().
 */
int plan_build(const struct plan_input *in, struct plan_table *ret)
    __attribute__((warn_unused_result));

/* ---- The merge of claims (lib/plan_merge.c) ---- */

/*
 * Each Service's virtual servers as plan_service() planned them, and for each key the claim
 * that wins it (plan_vs_claim_compare()). plan_build() fills one at once; the daemon keeps one
 * and re-plans only the Services that changed, so both give the same table and the same notes.
 */
struct plan_merge;

/* An empty merge, or NULL on ENOMEM. Free with plan_merge_free(). */
struct plan_merge *plan_merge_new(void);
struct plan_merge *plan_merge_free(struct plan_merge *m);

/*
 * Re-plans the Service key ("namespace/name") from in->cache: plan_service() when it is cached,
 * nothing when it is gone. Every losing claim on a key the Service now claims is noted as a
 * conflict (in->note). Returns 1 when that Service's virtual servers changed (the merged table
 * may have changed), 0 when they are the same as before, or -ENOMEM (the Service then claims
 * nothing until its next update).
 */
int plan_merge_update(struct plan_merge *m, const struct plan_input *in, const char *key)
    __attribute__((warn_unused_result));

/*
 * plan_merge_update() for every cached Service and every merged one that is gone; each losing
 * claim on a key a changed Service claims is noted once, after all of them are in. 1 when
 * anything changed, 0, or -ENOMEM.
 */
int plan_merge_update_all(struct plan_merge *m, const struct plan_input *in)
    __attribute__((warn_unused_result));

/*
 * The merged table: for each key, the winning claim, sorted by key. ret_view borrows the
 * merge's memory: it is valid until the next update, and must not be cleared. 0 or -ENOMEM.
 */
int plan_merge_table(struct plan_merge *m, struct plan_table *ret_view)
    __attribute__((warn_unused_result));

/*
 * Moves the merged table into ret (empty), which the caller frees with plan_table_clear(). m is
 * then only to be freed. Returns the number of virtual servers or -ENOMEM (ret left empty).
 */
int plan_merge_take(struct plan_merge *m, struct plan_table *ret)
    __attribute__((warn_unused_result));

/* How many Services have at least one virtual server. */
size_t plan_merge_count_services(const struct plan_merge *m);
/* The virtual servers Service key ("ns/name") claims (winning or not), or NULL: none. */
const struct plan_table *plan_merge_service_plan(const struct plan_merge *m, const char *key);
/*
 * Whether an update since the last call touched a key more than one Service claims (so its
 * winner may have moved to a Service that did not change); resets it.
 */
bool plan_merge_take_contested(struct plan_merge *m);
/*
 * Whether plan_merge_table() rebuilt the table (a key came or went) since the last call;
 * resets it. While it did not, every change only patched the entries of the keys of the
 * Services that changed.
 */
bool plan_merge_take_rebuilt(struct plan_merge *m);

/* ---- The scheduler's name and flags (lib/plan_sched.c) ---- */

/*
 * True when name can be an IPVS scheduler: 1 to PLAN_SCHEDULER_MAX - 1 ASCII letters, digits,
 * '_' or '-'. Whether the kernel has it is only known by asking it (kipvs run probes it).
 */
bool plan_scheduler_is_valid(const char *name);
/*
 * The scheduler flags every virtual server of that scheduler gets: mh hashes the source port
 * (as kube-proxy sets it) and, like sh, skips a destination at weight 0 (draining or
 * terminating) instead of failing the connection; 0 for the others.
 */
uint32_t plan_scheduler_flags(const char *name);
/*
 * Writes flags (PLAN_SCHED_F_*) as `ipvsadm -b` names into buf: "mh-fallback,mh-port" for mh,
 * "sh-..." for sh, "flag-1,flag-2,flag-3" for other schedulers; "" when flags has none. Returns
 * buf (PLAN_SCHED_FLAGS_STRLEN bytes).
 */
#define PLAN_SCHED_FLAGS_STRLEN 32
const char *plan_sched_flags_format(const char *scheduler, uint32_t flags, char *buf);
/*
 * Reads `ipvsadm -b` names (comma-separated; "flag-N" for any scheduler, "<sched>-fallback" and
 * "<sched>-port" for sh and mh) into *ret_flags. 0, or -EINVAL for an unknown name.
 */
int plan_sched_flags_parse(const char *scheduler, const char *text, uint32_t *ret_flags)
    __attribute__((warn_unused_result));

/* ---- Node addresses (lib/plan_node.c) ---- */

/* What decides this node's NodePort addresses; `plan` and `run` fill it from the same options. */
struct plan_node_addrs_input {
	const char *node_name;		 /* --hostname-override, named in the reason for none */
	const struct kube_node *node;	 /* this node's Node object; NULL when not found */
	const struct net_addr *node_ips; /* --node-ip */
	size_t n_node_ips;
	const struct net_prefix *cidrs; /* --nodeport-addresses; none: the primary rule */
	size_t n_cidrs;
	/*
	 * The node's own addresses that the CIDRs select among when no --node-ip is given. `run`
	 * sets from_interfaces and passes the kernel's interface addresses; `plan` cannot see
	 * another machine's interfaces and leaves it false: the Node object's InternalIP and
	 * ExternalIP addresses stand in.
	 */
	bool from_interfaces;
	const struct net_addr *if_addrs;
	size_t n_if_addrs;
};

/*
 * Fills *in from the options (--hostname-override, --node-ip, --nodeport-addresses) and node
 * (NULL when not found), with from_interfaces false: the view of `plan`. `run` adds the
 * kernel's addresses (daemon_node_addrs_input()).
 */
void plan_node_addrs_input_init(struct plan_node_addrs_input *in, const struct kube_options *o,
				const struct kube_node *node);

/*
 * The addresses NodePort virtual servers listen on, by one rule for `plan` and `run`. The
 * candidates are the --node-ip addresses when given; otherwise, with CIDRs, the node's own
 * addresses (see from_interfaces); otherwise the Node's primary addresses: per IP family, its
 * first InternalIP, else its first ExternalIP (kube-proxy's GetNodeHostIPs). With CIDRs only the
 * candidates inside one of them are kept. Duplicates are dropped; order is kept. On success
 * *ret_addrs is a malloc'd array the caller frees with free() (NULL when the count is 0) and
 * the count is returned; -ENOMEM otherwise. A count of 0 means no NodePort virtual server.
 */
int plan_node_addrs_resolve(const struct plan_node_addrs_input *in, struct net_addr **ret_addrs)
    __attribute__((warn_unused_result));

#define PLAN_NODE_ADDRS_NONE_MSG "no node address: no NodePort virtual server"

/*
 * The logfmt fields of the caller's PLAN_NODE_ADDRS_NONE_MSG warning, when
 * plan_node_addrs_resolve() found no address: node=NAME, reason= saying why ("Node NAME not
 * found", "Node NAME has no InternalIP or ExternalIP address", or which candidates lie outside
 * --nodeport-addresses) and hint=. Writes buf (at most size bytes) and returns it.
 */
const char *plan_node_addrs_none_fields(const struct plan_node_addrs_input *in, char *buf,
					size_t size);

/*
 * True when a Service the plan programs has a nodePort: only then do the node's addresses
 * matter (kube-proxy resolves them only then, too). Walks every cached Service.
 */
bool plan_cache_has_node_port(const struct kube_cache *cache, const char *proxy_name);

/* ---- ipvsadm -Sn text (lib/plan_format.c) ---- */

/*
 * Writes the table as `ipvsadm -Sn` would print it: each virtual server line
 * ("-A -t 10.0.0.1:80 -s mh -p 10800 -b mh-fallback,mh-port") followed by its real server lines
 * ("-a -t 10.0.0.1:80 -r 10.1.0.5:8080 -m -w 1"), in the table's order. 0 or -EIO.
 */
int plan_table_write(const struct plan_table *table, FILE *stream)
    __attribute__((warn_unused_result));
