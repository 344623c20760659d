/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binary set keys of kipvs's nftables sets (ipvs/fw_internal.h): what the kernel stores
 * for each element, so that element adds, deletes and read-back go over netlink without text.
 * Pure, so the unit test fw_key pins every byte.
 */
#include "fw_internal.h"

#include <string.h>
#include <sys/socket.h>

#include "kube_model.h"
#include "net_addr.h"

/* A concatenation field is padded to a 32-bit register (NFT_REG32_SIZE). */
#define FW_KEY_FIELD 4

static uint8_t fw_key_proto(enum kube_proto p)
{
	switch (p) {
	case KUBE_PROTO_TCP:
		return 6;
	case KUBE_PROTO_UDP:
		return 17;
	case KUBE_PROTO_SCTP:
		return 132;
	case _KUBE_PROTO_MAX:
		break;
	}
	return 0;
}

bool fw_set_is_interval(enum plan_fw_set set)
{
	return set == PLAN_FW_SET_LB_SOURCE;
}

static size_t fw_key_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

enum fw_key_shape fw_set_shape(enum plan_fw_set set)
{
	switch (set) {
	case PLAN_FW_SET_VIP:
		return FW_KEY_ADDR;
	case PLAN_FW_SET_HC_NODE_PORT:
		return FW_KEY_PROTO_PORT;
	case PLAN_FW_SET_HAIRPIN:
	case PLAN_FW_SET_LB_SOURCE:
		return FW_KEY_ADDR_PROTO_PORT_ADDR;
	case PLAN_FW_SET_CLUSTER_IP:
	case PLAN_FW_SET_EXTERNAL:
	case PLAN_FW_SET_EXTERNAL_LOCAL:
	case PLAN_FW_SET_NODE_PORT:
	case PLAN_FW_SET_NODE_PORT_LOCAL:
	case PLAN_FW_SET_NO_LOCAL:
	case PLAN_FW_SET_NODE_PORT_NO_LOCAL:
	case PLAN_FW_SET_LB_FILTERED:
	case _PLAN_FW_SET_MAX:
		break;
	}
	return FW_KEY_ADDR_PROTO_PORT;
}

size_t fw_key_len(enum plan_fw_set set, int family)
{
	size_t a = fw_key_addr_len(family);

	if (set >= _PLAN_FW_SET_MAX)
		return 0;
	switch (fw_set_shape(set)) {
	case FW_KEY_ADDR:
		return a;
	case FW_KEY_ADDR_PROTO_PORT:
		return a + 2 * FW_KEY_FIELD;
	case FW_KEY_PROTO_PORT:
		return 2 * FW_KEY_FIELD;
	case FW_KEY_ADDR_PROTO_PORT_ADDR:
		return 2 * a + 2 * FW_KEY_FIELD;
	}
	return 0;
}

/* Appends proto and port, each in its padded field; returns the new offset. */
static size_t fw_key_put_proto_port(uint8_t *key, size_t off, const struct plan_fw_elem *e)
{
	key[off] = fw_key_proto(e->proto);
	off += FW_KEY_FIELD;
	key[off] = (uint8_t)(e->port >> 8);
	key[off + 1] = (uint8_t)(e->port & 0xff);
	return off + FW_KEY_FIELD;
}

size_t fw_key_encode(const struct plan_fw_elem *e, uint8_t key[FW_KEY_MAX])
{
	int family = e->addr.family == AF_INET6 ? AF_INET6 : AF_INET;
	size_t a = fw_key_addr_len(family), off;

	memset(key, 0, FW_KEY_MAX);
	if (e->set >= _PLAN_FW_SET_MAX || fw_set_is_interval(e->set))
		return 0; /* ranges: written as text */
	switch (fw_set_shape(e->set)) {
	case FW_KEY_ADDR:
		memcpy(key, e->addr.bytes, a);
		return a;
	case FW_KEY_ADDR_PROTO_PORT:
		memcpy(key, e->addr.bytes, a);
		return fw_key_put_proto_port(key, a, e);
	case FW_KEY_PROTO_PORT:
		return fw_key_put_proto_port(key, 0, e);
	case FW_KEY_ADDR_PROTO_PORT_ADDR:
		if (e->addr2.family != e->addr.family)
			return 0;
		memcpy(key, e->addr.bytes, a);
		off = fw_key_put_proto_port(key, a, e);
		memcpy(key + off, e->addr2.bytes, a);
		return off + a;
	}
	return 0;
}
