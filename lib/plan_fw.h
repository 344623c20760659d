/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desired packet-path sets of this node: which elements each nftables set of kipvs's table
 * holds, derived (pure: no kernel, no clock) from the IPVS plan and the cached Services. ipvs/fw_*
 * turns them into element adds and deletes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"
#include "plan.h"

/* The sets. Per address family unless said otherwise; the key is in brackets. */
enum plan_fw_set {
	PLAN_FW_SET_VIP,	     /* [addr] every ClusterIP/externalIP/LB address (VIP filter) */
	PLAN_FW_SET_CLUSTER_IP,	     /* [addr . proto . port] ClusterIP virtual servers */
	PLAN_FW_SET_EXTERNAL,	     /* [addr . proto . port] externalIP/LB under eTP=Cluster */
	PLAN_FW_SET_EXTERNAL_LOCAL,  /* [addr . proto . port] externalIP/LB under eTP=Local */
	PLAN_FW_SET_NODE_PORT,	     /* [proto . port] NodePorts under eTP=Cluster */
	PLAN_FW_SET_NODE_PORT_LOCAL, /* [proto . port] NodePorts under eTP=Local */
	PLAN_FW_SET_NO_LOCAL,	     /* [addr . proto . port] eTP=Local external, no local ep */
	PLAN_FW_SET_NODE_PORT_NO_LOCAL, /* [proto . port] eTP=Local NodePort, no local endpoint */
	PLAN_FW_SET_HAIRPIN,		/* [ep . proto . ep port . ep] every real server */
	PLAN_FW_SET_LB_FILTERED,	/* [addr . proto . port] LB VIPs with source ranges */
	PLAN_FW_SET_LB_SOURCE,		/* [addr . proto . port . source prefix] allowed sources */
	PLAN_FW_SET_HC_NODE_PORT,	/* [port] healthCheckNodePorts (TCP; both families) */
	_PLAN_FW_SET_MAX,
};

/* "vip", "cluster_ip", ... (the set name without the family suffix). */
const char *plan_fw_set_to_string(enum plan_fw_set set);

/*
 * One set element. Fields a set's key does not use are zero (addr.family excepted: a
 * [proto . port] element keeps the family of the virtual server, with zero bytes; a [port]
 * element has family 0).
 */
struct plan_fw_elem {
	enum plan_fw_set set;
	enum kube_proto proto;
	uint16_t port;
	struct net_addr addr;
	struct net_addr addr2; /* HAIRPIN: the endpoint again; LB_SOURCE: the prefix's address */
	uint8_t prefix_len;    /* LB_SOURCE only */
};

/* Orders elements by set, family, address, protocol, port, second address, prefix length. */
int plan_fw_elem_compare(const struct plan_fw_elem *a, const struct plan_fw_elem *b);

/* The elements of every set, sorted by plan_fw_elem_compare(), without duplicates. */
struct plan_fw {
	struct plan_fw_elem *elems;
	size_t n_elems;
};

/* Frees the array; leaves an empty table. Accepts NULL. */
void plan_fw_clear(struct plan_fw *fw);

struct plan_fw_input {
	const struct plan_table *plan;	   /* the node's IPVS plan */
	const struct kube_cache *cache;	   /* for each virtual server's Service (policy, ranges) */
	const struct net_addr *node_addrs; /* never VIPs (an externalIP that is the node's own) */
	size_t n_node_addrs;
};

/*
 * Derives the sets from the plan: each virtual server's kind and real servers, and from its
 * Service (looked up by namespace/name; a virtual server whose Service is not cached counts as
 * eTP=Cluster without ranges) externalTrafficPolicy, loadBalancerSourceRanges (of the VIP's
 * family) and healthCheckNodePort. ret must be empty; returns the number of elements or -ENOMEM
 * (ret left empty). Free with plan_fw_clear().
 */
int plan_fw_build(const struct plan_fw_input *in, struct plan_fw *ret)
    __attribute__((warn_unused_result));

/*
 * A digest of the elements one virtual server of in->plan gives (in->plan itself is not read):
 * equal digests, equal elements. What lets the daemon tell, for the Services that changed,
 * that the sets did not change without building them all again. 0 or -ENOMEM.
 */
int plan_fw_vs_digest(const struct plan_fw_input *in, const struct plan_vs *vs,
		      uint64_t *ret_digest) __attribute__((warn_unused_result));
/* plan_fw_build(), calling fn with each virtual server's plan_fw_vs_digest() on the way. */
typedef void (*plan_fw_vs_fn)(const struct plan_vs *vs, uint64_t digest, void *userdata);
int plan_fw_build_each(const struct plan_fw_input *in, struct plan_fw *ret, plan_fw_vs_fn fn,
		       void *userdata) __attribute__((warn_unused_result));

/*
 * The difference from `from` to `to`: the elements of `to` not in `from` (adds) and of `from`
 * not in `to` (deletes), both sorted. Either output may be NULL. 0 or -ENOMEM (outputs left
 * empty). Free with plan_fw_clear().
 */
int plan_fw_diff(const struct plan_fw *from, const struct plan_fw *to, struct plan_fw *ret_add,
		 struct plan_fw *ret_del) __attribute__((warn_unused_result));

/*
 * The UDP virtual servers whose conntrack entries may be stale after a change from `before` to
 * `after` (both sorted by key): those that lost a real server, those that had none and now have
 * one, and those that are gone (they had real servers). fn gets the key and the virtual server
 * in `after` (NULL when gone), in key order. Returns how many it reported.
 */
typedef void (*plan_fw_udp_fn)(const struct net_addr *addr, uint16_t port,
			       const struct plan_vs *now, void *userdata);
size_t plan_fw_udp_stale(const struct plan_table *before, const struct plan_table *after,
			 plan_fw_udp_fn fn, void *userdata);
