/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which addresses of this node NodePort virtual servers listen on, for `kipvs plan`: the
 * --node-ip flags or the Node object's addresses, filtered by --nodeport-addresses. Kept apart
 * from the translation so that `run` can apply the same rule to interface addresses.
 */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>

#include "cleanup.h"
#include "kube_model.h"
#include "net_addr.h"

static bool plan_addr_in_cidrs(const struct net_addr *addr, const struct net_prefix *cidrs,
			       size_t n_cidrs)
{
	for (size_t i = 0; i < n_cidrs; i++)
		if (net_prefix_contains(&cidrs[i], addr))
			return true;
	return false;
}

/* Appends addr unless it is unset, already there, or outside the CIDRs (when there are any). */
static void plan_addr_add(struct net_addr *v, size_t *n, const struct net_addr *addr,
			  const struct net_prefix *cidrs, size_t n_cidrs)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return;
	if (n_cidrs > 0 && !plan_addr_in_cidrs(addr, cidrs, n_cidrs))
		return;
	for (size_t i = 0; i < *n; i++)
		if (net_addr_equal(&v[i], addr))
			return;
	v[(*n)++] = *addr;
}

int plan_node_addrs_resolve(const struct net_addr *node_ips, size_t n_node_ips,
			    const struct kube_node *node, const struct net_prefix *cidrs,
			    size_t n_cidrs, struct net_addr **ret_addrs)
{
	_cleanup_free_ struct net_addr *v = NULL;
	size_t cap = n_node_ips, n = 0;

	if (n_node_ips == 0 && node)
		cap = node->n_internal_ips + (n_cidrs > 0 ? node->n_external_ips : 0);
	if (cap == 0) {
		*ret_addrs = NULL;
		return 0;
	}
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (n_node_ips > 0) {
		for (size_t i = 0; i < n_node_ips; i++)
			plan_addr_add(v, &n, &node_ips[i], cidrs, n_cidrs);
	} else {
		for (size_t i = 0; i < node->n_internal_ips; i++)
			plan_addr_add(v, &n, &node->internal_ips[i], cidrs, n_cidrs);
		for (size_t i = 0; n_cidrs > 0 && i < node->n_external_ips; i++)
			plan_addr_add(v, &n, &node->external_ips[i], cidrs, n_cidrs);
	}
	if (n == 0) {
		*ret_addrs = NULL;
		return 0;
	}
	*ret_addrs = TAKE_PTR(v);
	return (int)n;
}
