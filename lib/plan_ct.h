/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stale UDP conntrack criteria of one node sync, as one set: every UDP virtual server whose
 * entries may be stale (plan_fw_udp_stale()) with the real servers it keeps. The kernel side
 * (ipvs/ipvs_conntrack.c) dumps the conntrack table once per IP family and asks
 * plan_ct_entry_is_stale() about each entry, a binary search, not a scan of the set. Pure: no
 * kernel, unit-tested (test/unit/test_plan_ct.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_addr.h"

struct plan_dest;
struct plan_table;

/* A real server whose entries stay: the reply source of an entry that still reaches it. */
struct plan_ct_keep {
	struct net_addr addr;
	uint16_t port;
};

/* One stale UDP virtual server: its entries go, but those whose reply source is kept. */
struct plan_ct_vs {
	struct net_addr vip;
	uint16_t port;
	struct plan_ct_keep *keep; /* sorted by (address, port); owned */
	size_t n_keep;
};

/* The set; zero-initialised is empty. Add with plan_ct_add(), then plan_ct_sort() once. */
struct plan_ct {
	struct plan_ct_vs *vs; /* sorted by (vip, port) after plan_ct_sort() */
	size_t n_vs, cap;
	bool sorted;
};

/* One conntrack entry as the matcher sees it; an absent address has family 0. */
struct plan_ct_entry {
	int family;		   /* the entry's layer 3 family (nfgenmsg), AF_INET or AF_INET6 */
	uint8_t proto;		   /* the original tuple's layer 4 protocol (IPPROTO_*) */
	struct net_addr orig_dst;  /* the original tuple's destination: what the client sent to */
	uint16_t orig_dst_port;	   /* host order */
	struct net_addr reply_src; /* the reply tuple's source: the real server that answers */
	uint16_t reply_src_port;   /* host order */
};

/*
 * Adds vip:port (UDP) with the real servers it keeps (copied; keep may be NULL when n_keep is
 * 0: every entry to it is stale). The same vip:port added twice is stale for an entry when
 * either addition is. 0 or -ENOMEM (the set is unchanged). Call plan_ct_sort() after the adds.
 */
int plan_ct_add(struct plan_ct *set, const struct net_addr *vip, uint16_t port,
		const struct plan_dest *keep, size_t n_keep) __attribute__((warn_unused_result));

/* Sorts the set for plan_ct_entry_is_stale(); call again after further adds. */
void plan_ct_sort(struct plan_ct *set);

/*
 * The set of a change from before to after (plan_fw_udp_stale()'s virtual servers, each with
 * its real servers in after, none when it is gone), sorted. before NULL (unknown) gives an
 * empty set. 0 or -ENOMEM (ret_set left empty). Free with plan_ct_clear().
 */
int plan_ct_build(const struct plan_table *before, const struct plan_table *after,
		  struct plan_ct *ret_set) __attribute__((warn_unused_result));

/* True when the set has a virtual server of family (AF_INET or AF_INET6). */
bool plan_ct_has_family(const struct plan_ct *set, int family);

/*
 * True when the entry is one the set makes stale: UDP, its family and original destination
 * are a virtual server's vip:port, and its reply source is none of that virtual server's kept
 * real servers (an entry without a reply source is stale). O(log n) in the set and the keep
 * list. The set must be sorted.
 */
bool plan_ct_entry_is_stale(const struct plan_ct *set, const struct plan_ct_entry *entry);

/* Frees what the set owns and empties it. */
void plan_ct_clear(struct plan_ct *set);
