/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which addresses of this node NodePort virtual servers listen on: the one rule of `plan` and
 * `run` (--node-ip, --nodeport-addresses, the Node object's primary addresses), kept apart from
 * the translation so that both commands feed it their own view of the node's addresses.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_model.h"
#include "kube_options.h"
#include "log.h"
#include "net_addr.h"

static bool plan_addr_in_cidrs(const struct net_addr *addr, const struct net_prefix *cidrs,
			       size_t n_cidrs)
{
	for (size_t i = 0; i < n_cidrs; i++)
		if (net_prefix_contains(&cidrs[i], addr))
			return true;
	return false;
}

static bool plan_addr_family_listed(const struct net_addr *v, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
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

static void plan_addrs_add(struct net_addr *v, size_t *n, const struct net_addr *addrs,
			   size_t n_addrs, const struct plan_node_addrs_input *in)
{
	for (size_t i = 0; i < n_addrs; i++)
		plan_addr_add(v, n, &addrs[i], in->cidrs, in->n_cidrs);
}

/* GetNodeHostIPs: InternalIPs before ExternalIPs, and only the first of each family. */
static void plan_addrs_add_primary(struct net_addr *v, size_t *n, const struct kube_node *node)
{
	for (size_t i = 0; i < node->n_internal_ips; i++)
		if (!plan_addr_family_listed(v, *n, node->internal_ips[i].family))
			plan_addr_add(v, n, &node->internal_ips[i], NULL, 0);
	for (size_t i = 0; i < node->n_external_ips; i++)
		if (!plan_addr_family_listed(v, *n, node->external_ips[i].family))
			plan_addr_add(v, n, &node->external_ips[i], NULL, 0);
}

void plan_node_addrs_input_init(struct plan_node_addrs_input *in, const struct kube_options *o,
				const struct kube_node *node)
{
	*in = (struct plan_node_addrs_input){
	    .node_name = o->hostname,
	    .node = node,
	    .node_ips = o->node_ips,
	    .n_node_ips = o->n_node_ips,
	    .cidrs = o->nodeport_cidrs,
	    .n_cidrs = o->n_nodeport_cidrs,
	};
}

int plan_node_addrs_resolve(const struct plan_node_addrs_input *in, struct net_addr **ret_addrs)
{
	_cleanup_free_ struct net_addr *v = NULL;
	const struct kube_node *node = in->node;
	size_t cap = in->n_node_ips + in->n_if_addrs, n = 0;

	if (node)
		cap += node->n_internal_ips + node->n_external_ips;
	if (cap > 0 && !(v = calloc(cap, sizeof(*v))))
		return -ENOMEM;
	if (in->n_node_ips > 0) {
		plan_addrs_add(v, &n, in->node_ips, in->n_node_ips, in);
	} else if (in->n_cidrs > 0 && in->from_interfaces) {
		plan_addrs_add(v, &n, in->if_addrs, in->n_if_addrs, in);
	} else if (node && in->n_cidrs > 0) {
		plan_addrs_add(v, &n, node->internal_ips, node->n_internal_ips, in);
		plan_addrs_add(v, &n, node->external_ips, node->n_external_ips, in);
	} else if (node) {
		plan_addrs_add_primary(v, &n, node);
	}
	if (n == 0) {
		*ret_addrs = NULL;
		return 0;
	}
	*ret_addrs = TAKE_PTR(v);
	return (int)n;
}

const char *plan_node_addrs_none_fields(const struct plan_node_addrs_input *in, char *buf,
					size_t size)
{
	const char *name = in->node_name ? in->node_name : "";
	char reason[320], quoted[340];

	if (in->n_node_ips > 0)
		(void)snprintf(reason, sizeof(reason),
			       "no --node-ip address inside --nodeport-addresses");
	else if (in->n_cidrs > 0 && in->from_interfaces)
		(void)snprintf(reason, sizeof(reason),
			       "no interface address inside --nodeport-addresses");
	else if (!in->node)
		(void)snprintf(reason, sizeof(reason), "Node %s not found", name);
	else if (in->n_cidrs > 0)
		(void)snprintf(reason, sizeof(reason),
			       "no address of Node %s inside --nodeport-addresses", name);
	else
		(void)snprintf(reason, sizeof(reason),
			       "Node %s has no InternalIP or ExternalIP address", name);
	(void)snprintf(buf, size,
		       "node=%s reason=%s hint=\"pass --node-ip, or check --hostname-override, the "
		       "Node object and --nodeport-addresses\"",
		       name, log_quote(quoted, sizeof(quoted), reason));
	return buf;
}

static int plan_service_has_node_port(const struct kube_service *svc, void *userdata)
{
	if (plan_service_skip_reason(svc, userdata))
		return 0;
	for (size_t i = 0; i < svc->n_ports; i++)
		if (svc->ports[i].node_port != 0)
			return 1;
	return 0;
}

bool plan_cache_has_node_port(const struct kube_cache *cache, const char *proxy_name)
{
	void *name = (void *)proxy_name;

	return kube_cache_foreach_service(cache, plan_service_has_node_port, name) > 0;
}
