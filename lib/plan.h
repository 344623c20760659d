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

#include "kube_model.h"
#include "net_addr.h"

#define PLAN_SCHEDULER_MAX 16

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
	bool persistent; /* ClientIP affinity: persistence with a full-length netmask */
	uint32_t timeout; /* persistence timeout in seconds, when persistent */
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

/* Frees the virtual servers' contents and the array; leaves an empty table. Accepts NULL. */
void plan_table_clear(struct plan_table *table);
