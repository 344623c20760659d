/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw internals shared by fw_nft.c, fw_key.c and fw_netlink.c, and the unit test of the binary
 * set keys (test_fw_key.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_fw.h"

/* The longest key: ipv6_addr . inet_proto . inet_service . ipv6_addr = 16 + 4 + 4 + 16. */
#define FW_KEY_MAX 40

/* The field layout of a set's key: what fw_set_key(), fw_key_len() and fw_key_encode() share. */
enum fw_key_shape {
	FW_KEY_ADDR,		     /* A */
	FW_KEY_ADDR_PROTO_PORT,	     /* A . inet_proto . inet_service */
	FW_KEY_PROTO_PORT,	     /* inet_proto . inet_service */
	FW_KEY_ADDR_PROTO_PORT_ADDR, /* A . inet_proto . inet_service . A */
};
enum fw_key_shape fw_set_shape(enum plan_fw_set set);

/*
 * An element's set key in the kernel's binary form, as nftables lays out the set's key type
 * (fw_set_key()): addresses in network order (4 or 16 bytes), inet_proto as one byte and
 * inet_service as two bytes in network order, each field of a concatenation padded with zeros
 * to 4 bytes. `family` (AF_INET or AF_INET6) picks the set. Not for the interval set
 * LB_SOURCE (its elements are ranges): returns 0 there. Returns the key's length, at most
 * FW_KEY_MAX, or 0 when the element cannot be encoded.
 */
size_t fw_key_encode(const struct plan_fw_elem *e, uint8_t key[FW_KEY_MAX]);

/* The key length of a set of that family (what the kernel reports as NFTA_SET_KEY_LEN). */
size_t fw_key_len(enum plan_fw_set set, int family);

/* True for the sets written and verified as text through libnftables (interval sets). */
bool fw_set_is_interval(enum plan_fw_set set);

/* ---- The netlink side (fw_netlink.c): libmnl and libnftnl, no text ---- */

struct fw_netlink;

/* A socket for NETLINK_NETFILTER; 0 or -errno. Free with fw_netlink_free() (accepts NULL). */
int fw_netlink_open(struct fw_netlink **ret_nl) __attribute__((warn_unused_result));
struct fw_netlink *fw_netlink_free(struct fw_netlink *nl);

/*
 * The comment of table inet `table` (NFTA_TABLE_USERDATA), without listing anything in it:
 * 0 with the comment in buf ("" when it has none), -ENOENT when the table is absent, or -errno.
 */
int fw_netlink_table_comment(struct fw_netlink *nl, const char *table, char *buf, size_t size)
    __attribute__((warn_unused_result));

/* One set's change in a batch: its name, whether to flush it first, the keys to add or delete. */
struct fw_netlink_set_op {
	const char *set;
	bool flush;	     /* delete every element first (the set is rewritten) */
	bool del;	     /* keys are deleted, not added */
	const uint8_t *keys; /* n keys of key_len bytes each, back to back */
	size_t n, key_len;
};

/*
 * Sends ops as one nftables transaction (NFNL_MSG_BATCH_BEGIN ... END): the kernel applies all
 * or nothing. Returns 0, or the first -errno with the kernel's text (and the set's name) in err.
 */
int fw_netlink_batch(struct fw_netlink *nl, const char *table, const struct fw_netlink_set_op *ops,
		     size_t n_ops, char *err, size_t err_size) __attribute__((warn_unused_result));

/*
 * Reads set `set` of table inet `table` back (NFT_MSG_GETSETELEM dump): appends each element's
 * key (key_len bytes; keys of another length are counted as a mismatch through *ret_odd) to
 * *keys (realloc'd; *n grows). 0, -ENOENT when the set is absent, or -errno.
 */
int fw_netlink_set_keys(struct fw_netlink *nl, const char *table, const char *set, size_t key_len,
			uint8_t **keys, size_t *n, size_t *ret_odd)
    __attribute__((warn_unused_result));

/*
 * A digest of the table's structure as the kernel reports it: its chains, rules and set
 * declarations (every attribute but handles, positions and use counts; no set elements).
 * 0 with *ret_digest, -ENOENT when the table is absent, or -errno.
 */
int fw_netlink_structure_digest(struct fw_netlink *nl, const char *table, uint64_t *ret_digest)
    __attribute__((warn_unused_result));

/*
 * Whether a chain of another table (any family but netdev) hooks forward with policy drop
 * (NFT_MSG_GETCHAIN dump: no rules, no set elements). 0 with *ret_found, or -errno.
 */
int fw_netlink_forward_drop(struct fw_netlink *nl, const char *table, bool *ret_found)
    __attribute__((warn_unused_result));
