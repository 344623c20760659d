/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and destructors of the typed model (kube_model.h). Kept apart from the decoder so the
 * plan and the caches can use the model without linking JSON code.
 */
#include "kube_model.h"

#include <stdlib.h>

const char *kube_proto_to_string(enum kube_proto proto)
{
	switch (proto) {
	case KUBE_PROTO_TCP:
		return "TCP";
	case KUBE_PROTO_UDP:
		return "UDP";
	case KUBE_PROTO_SCTP:
		return "SCTP";
	case _KUBE_PROTO_MAX:
		break;
	}
	return "?";
}

const char *kube_svc_type_to_string(enum kube_svc_type type)
{
	switch (type) {
	case KUBE_SVC_CLUSTER_IP:
		return "ClusterIP";
	case KUBE_SVC_NODE_PORT:
		return "NodePort";
	case KUBE_SVC_LOAD_BALANCER:
		return "LoadBalancer";
	case KUBE_SVC_EXTERNAL_NAME:
		return "ExternalName";
	case _KUBE_SVC_TYPE_MAX:
		break;
	}
	return "?";
}

const char *kube_traffic_policy_to_string(enum kube_traffic_policy policy)
{
	switch (policy) {
	case KUBE_POLICY_CLUSTER:
		return "Cluster";
	case KUBE_POLICY_LOCAL:
		return "Local";
	case _KUBE_POLICY_MAX:
		break;
	}
	return "?";
}

static void kube_meta_clear(struct kube_meta *meta)
{
	free(meta->namespace);
	free(meta->name);
	free(meta->uid);
	free(meta->resource_version);
}

struct kube_service *kube_service_free(struct kube_service *svc)
{
	if (!svc)
		return NULL;
	kube_meta_clear(&svc->meta);
	free(svc->cluster_ips);
	for (size_t i = 0; i < svc->n_ports; i++)
		free(svc->ports[i].name);
	free(svc->ports);
	free(svc->external_ips);
	free(svc->lb_ingress);
	free(svc->lb_source_ranges);
	free(svc->traffic_distribution);
	free(svc->service_proxy_name);
	free(svc);
	return NULL;
}

struct kube_endpoint_slice *kube_endpoint_slice_free(struct kube_endpoint_slice *slice)
{
	if (!slice)
		return NULL;
	kube_meta_clear(&slice->meta);
	free(slice->service_name);
	for (size_t i = 0; i < slice->n_ports; i++)
		free(slice->ports[i].name);
	free(slice->ports);
	for (size_t i = 0; i < slice->n_endpoints; i++) {
		struct kube_endpoint *ep = &slice->endpoints[i];

		free(ep->node_name);
		free(ep->zone);
		for (size_t z = 0; z < ep->n_hint_zones; z++)
			free(ep->hint_zones[z]);
		free(ep->hint_zones);
	}
	free(slice->endpoints);
	free(slice);
	return NULL;
}

struct kube_node *kube_node_free(struct kube_node *node)
{
	if (!node)
		return NULL;
	kube_meta_clear(&node->meta);
	free(node->internal_ips);
	free(node->external_ips);
	free(node->zone);
	free(node);
	return NULL;
}
