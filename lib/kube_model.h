/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed model of the three Kubernetes kinds kipvs reads: only the fields a proxy needs,
 * already validated. The decoder (kube_decode.c) fills these from JSON; the caches own them;
 * the plan reads them. Nothing here points into a cJSON tree.
 *
 * Every string and array is owned by its object and freed by its *_free() function.
 * Arrays are (pointer, count) pairs; a count of 0 goes with a NULL pointer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_addr.h"

enum kube_proto {
	KUBE_PROTO_TCP,
	KUBE_PROTO_UDP,
	KUBE_PROTO_SCTP,
	_KUBE_PROTO_MAX,
};

enum kube_svc_type {
	KUBE_SVC_CLUSTER_IP, /* also when spec.type is absent */
	KUBE_SVC_NODE_PORT,
	KUBE_SVC_LOAD_BALANCER,
	KUBE_SVC_EXTERNAL_NAME,
	_KUBE_SVC_TYPE_MAX,
};

enum kube_traffic_policy {
	KUBE_POLICY_CLUSTER, /* also when the field is absent */
	KUBE_POLICY_LOCAL,
	_KUBE_POLICY_MAX,
};

/* "TCP", "UDP", "SCTP" (the API's spelling). */
const char *kube_proto_to_string(enum kube_proto proto);
const char *kube_svc_type_to_string(enum kube_svc_type type);
const char *kube_traffic_policy_to_string(enum kube_traffic_policy policy);

/* Object metadata common to all kinds. */
struct kube_meta {
	char *namespace; /* "" for cluster-scoped kinds (Node) */
	char *name;
	char *uid;
	char *resource_version;
};

struct kube_svc_port {
	char *name; /* "" when unnamed */
	enum kube_proto proto;
	uint16_t port;
	uint16_t node_port; /* 0 when absent (ClusterIP, or allocateLoadBalancerNodePorts: false) */
};

struct kube_lb_ingress {
	struct net_addr ip; /* entries with only a hostname are not kept */
	bool ip_mode_proxy; /* status.loadBalancer.ingress[].ipMode == "Proxy" */
};

#define KUBE_AFFINITY_TIMEOUT_DEFAULT 10800

struct kube_service {
	struct kube_meta meta;
	enum kube_svc_type type;
	/* spec.clusterIP is "None" or empty: no virtual IP at all. */
	bool headless;
	/* spec.clusterIPs (or spec.clusterIP when clusterIPs is absent), primary first. */
	struct net_addr *cluster_ips;
	size_t n_cluster_ips;
	/* spec.ipFamilies as AF_INET / AF_INET6, primary first. */
	int ip_families[2];
	size_t n_ip_families;
	struct kube_svc_port *ports;
	size_t n_ports;
	struct net_addr *external_ips;
	size_t n_external_ips;
	struct kube_lb_ingress *lb_ingress;
	size_t n_lb_ingress;
	struct net_prefix *lb_source_ranges;
	size_t n_lb_source_ranges;
	bool affinity_client_ip; /* sessionAffinity: ClientIP */
	uint32_t affinity_timeout; /* seconds; KUBE_AFFINITY_TIMEOUT_DEFAULT when not given */
	enum kube_traffic_policy external_policy;
	enum kube_traffic_policy internal_policy;
	uint16_t health_check_node_port; /* 0 when absent */
	char *traffic_distribution; /* NULL when absent */
	/* Label service.kubernetes.io/service-proxy-name; NULL when absent. */
	char *service_proxy_name;
	/* Label service.kubernetes.io/headless is present. */
	bool label_headless;
};

struct kube_slice_port {
	char *name; /* "" when unnamed */
	enum kube_proto proto;
	uint16_t port;
};

struct kube_endpoint {
	struct net_addr addr; /* addresses[0], as kube-proxy */
	bool ready; /* absent: true */
	bool serving; /* absent: true, as kube-proxy reads it */
	bool terminating; /* absent: false */
	char *node_name; /* NULL when absent */
	char *zone; /* NULL when absent */
	char **hint_zones; /* hints.forZones[].name */
	size_t n_hint_zones;
};

struct kube_endpoint_slice {
	struct kube_meta meta;
	/* Label kubernetes.io/service-name; NULL when absent (such a slice serves no Service). */
	char *service_name;
	int family; /* addressType as AF_INET / AF_INET6; FQDN slices are rejected by the decoder */
	struct kube_slice_port *ports;
	size_t n_ports;
	struct kube_endpoint *endpoints;
	size_t n_endpoints;
	/*
	 * Annotation endpoints.kubernetes.io/last-change-trigger-time in nanoseconds since the
	 * epoch; 0 when absent or unparsable.
	 */
	int64_t last_change_trigger_time_ns;
};

struct kube_node {
	struct kube_meta meta;
	struct net_addr *internal_ips; /* status.addresses of type InternalIP, in order */
	size_t n_internal_ips;
	struct net_addr *external_ips; /* status.addresses of type ExternalIP, in order */
	size_t n_external_ips;
	char *zone; /* label topology.kubernetes.io/zone; NULL when absent */
	bool deleting; /* metadata.deletionTimestamp is set */
	bool to_be_deleted; /* tainted ToBeDeletedByClusterAutoscaler */
};

/*
 * The one proxy filter, shared by every source and the plan: a Service is proxied iff it has no
 * service.kubernetes.io/headless label and its service.kubernetes.io/service-proxy-name label
 * is absent or equals proxy_name (NULL when --service-proxy-name is not set). Defined in
 * kube_decode.c.
 */
bool kube_service_is_proxied(const struct kube_service *svc, const char *proxy_name);

/* Destructors accept NULL and return NULL (style.md §5). */
struct kube_service *kube_service_free(struct kube_service *svc);
struct kube_endpoint_slice *kube_endpoint_slice_free(struct kube_endpoint_slice *slice);
struct kube_node *kube_node_free(struct kube_node *node);
