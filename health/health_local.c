/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure helpers the daemon calls before pushing state into health/: how many local ready
 * endpoints a Service has (the health-check node port's number), whether the Node is eligible
 * for load-balanced traffic, and the parsing of --healthz/--metrics-bind-address.
 */
#include "health.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static int health_addr_cmp(const void *a, const void *b)
{
	return net_addr_compare(a, b);
}

/* The family whose endpoints count, or 0 for every family. */
static int health_primary_family(const struct kube_service *svc)
{
	if (svc->n_ip_families > 0)
		return svc->ip_families[0];
	if (svc->n_cluster_ips > 0)
		return svc->cluster_ips[0].family;
	return 0;
}

static bool health_slice_serves(const struct kube_endpoint_slice *slice,
				const struct kube_service *svc)
{
	return slice->service_name && strcmp(slice->service_name, svc->meta.name) == 0 &&
	       strcmp(slice->meta.namespace, svc->meta.namespace) == 0;
}

int health_local_endpoints_count(const struct kube_service *svc,
				 const struct kube_endpoint_slice *const *slices, size_t n_slices,
				 const char *node_name)
{
	_cleanup_free_ struct net_addr *addrs = NULL;
	size_t n = 0, cap = 0, distinct = 0;
	int family = health_primary_family(svc);

	if (!node_name)
		return 0;
	for (size_t i = 0; i < n_slices; i++) {
		const struct kube_endpoint_slice *slice = slices[i];

		if (!slice || !health_slice_serves(slice, svc))
			continue;
		if (family != 0 && slice->family != family)
			continue;
		for (size_t j = 0; j < slice->n_endpoints; j++) {
			const struct kube_endpoint *ep = &slice->endpoints[j];

			/*
			 * Ready ones count, terminating or not (upstream's LocalReadyEndpoints): a
			 * ready terminating endpoint (publishNotReadyAddresses) is one the table
			 * routes to at weight 1, so the load balancer must see it too.
			 */
			if (!ep->ready || !ep->node_name ||
			    strcmp(ep->node_name, node_name) != 0)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct net_addr *p = reallocarray(addrs, ncap, sizeof(*p));

				if (!p)
					return -ENOMEM;
				addrs = p;
				cap = ncap;
			}
			addrs[n++] = ep->addr;
		}
	}
	if (n == 0)
		return 0;
	qsort(addrs, n, sizeof(*addrs), health_addr_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !net_addr_equal(&addrs[i - 1], &addrs[i]))
			distinct++;
	return (int)distinct;
}

bool health_node_is_eligible(const struct kube_node *node)
{
	return !node || (!node->deleting && !node->to_be_deleted);
}

static int health_port_parse(const char *text, uint16_t *ret_port)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)v;
	return 0;
}

int health_bind_parse(const char *text, uint16_t default_port, struct net_addr *ret_addr,
		      uint16_t *ret_port)
{
	struct net_addr addr = {0};
	uint16_t port = default_port;
	char host[NET_ADDR_STRLEN];
	const char *colon;
	size_t len;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || (size_t)(close - text - 1) >= sizeof(host))
			return -EINVAL;
		len = (size_t)(close - text - 1);
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (net_addr_parse(host, &addr) < 0 || addr.family != AF_INET6)
			return -EINVAL;
		if (close[1] == ':') {
			if (health_port_parse(close + 2, &port) < 0)
				return -EINVAL;
		} else if (close[1] != '\0') {
			return -EINVAL;
		}
	} else if ((colon = strchr(text, ':')) && !strchr(colon + 1, ':')) {
		/* "IP:port" or ":port"; more than one colon is a bare IPv6 address. */
		len = (size_t)(colon - text);
		if (len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, len);
		host[len] = '\0';
		if (len > 0 && (net_addr_parse(host, &addr) < 0 || addr.family != AF_INET))
			return -EINVAL;
		if (health_port_parse(colon + 1, &port) < 0)
			return -EINVAL;
	} else if (text[0] != '\0') {
		if (net_addr_parse(text, &addr) < 0)
			return -EINVAL;
	}
	*ret_addr = addr;
	*ret_port = port;
	return 0;
}
