/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON (cJSON tree) to the typed model for EndpointSlices and Nodes, with the same validation
 * rules as the Service decoder in kube_decode.c: bad fields are logged and dropped, unusable
 * objects (FQDN slices, no name) are logged and rejected.
 */
#include "kube_decode.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "kube_decode_internal.h"
#include "log.h"

#define KUBE_LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define KUBE_ANNOT_TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"
#define KUBE_LABEL_ZONE "topology.kubernetes.io/zone"
#define KUBE_TAINT_TO_BE_DELETED "ToBeDeletedByClusterAutoscaler"

/* RFC 3339 time ("2024-05-04T12:34:56.123Z", or with an offset) in ns since the epoch; 0 if bad. */
static int64_t kube_dec_rfc3339_ns(const char *s)
{
	struct tm tm = {0};
	int64_t frac = 0, t;
	long off = 0;
	const char *p;
	int digits = 0;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		if (digits == 0)
			return 0;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return 0;
	}
	if (*p)
		return 0;
	t = (int64_t)timegm(&tm) - off;
	/* Nanoseconds since 1970 fit an int64 until 2262. */
	if (t <= 0 || t > INT64_MAX / 1000000000 - 1)
		return 0;
	return t * 1000000000 + frac;
}

static int kube_dec_slice_ports(struct kube_dec *d, const cJSON *obj,
				struct kube_endpoint_slice *slice)
{
	const cJSON *arr = kube_dec_get(d, obj, "ports", cJSON_Array, "ports");
	size_t n = kube_dec_array_len(arr), i = 0;
	const cJSON *p;

	if (n == 0)
		return 0;
	slice->ports = calloc(n, sizeof(*slice->ports));
	if (!slice->ports)
		return -ENOMEM;
	for (p = arr->child; p; p = p->next, i++) {
		struct kube_slice_port *port = &slice->ports[slice->n_ports];
		const cJSON *name;
		char path[48];
		int r;

		if (!cJSON_IsObject(p)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", p, "not an object",
				     "ports[%zu]", i);
			continue;
		}
		snprintf(path, sizeof(path), "ports[%zu].protocol", i);
		if (kube_dec_proto(d, p, path, &port->proto) < 0)
			continue;
		snprintf(path, sizeof(path), "ports[%zu].port", i);
		r = kube_dec_port(d, cJSON_GetObjectItemCaseSensitive(p, "port"), path,
				  &port->port);
		if (r == 0)
			/* null means "all ports", which IPVS cannot express per port. */
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field",
				     cJSON_GetObjectItemCaseSensitive(p, "port"),
				     "port not set (all ports) is not supported", "%s", path);
		if (r <= 0)
			continue;
		snprintf(path, sizeof(path), "ports[%zu].name", i);
		name = kube_dec_get(d, p, "name", cJSON_String, path);
		if (kube_dec_strdup(name ? name->valuestring : "", &port->name) < 0)
			return -ENOMEM;
		slice->n_ports++;
	}
	if (slice->n_ports == 0)
		slice->ports = mfree(slice->ports);
	return 0;
}

/* A condition: true/false, or `absent` when missing or null; a non-bool is logged. */
static bool kube_dec_condition(struct kube_dec *d, const cJSON *conds, const char *key, size_t i,
			       bool absent)
{
	const cJSON *v = conds ? cJSON_GetObjectItemCaseSensitive(conds, key) : NULL;

	if (!v || cJSON_IsNull(v))
		return absent;
	if (!cJSON_IsBool(v)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "not a boolean",
			     "endpoints[%zu].conditions.%s", i, key);
		return absent;
	}
	return cJSON_IsTrue(v);
}

static int kube_dec_hints(struct kube_dec *d, const cJSON *e, size_t i, struct kube_endpoint *ep)
{
	char path[64];
	const cJSON *hints, *zones, *z;
	size_t n, k = 0;

	snprintf(path, sizeof(path), "endpoints[%zu].hints", i);
	hints = kube_dec_get(d, e, "hints", cJSON_Object, path);
	snprintf(path, sizeof(path), "endpoints[%zu].hints.forZones", i);
	zones = kube_dec_get(d, hints, "forZones", cJSON_Array, path);
	n = kube_dec_array_len(zones);
	if (n == 0)
		return 0;
	ep->hint_zones = calloc(n, sizeof(*ep->hint_zones));
	if (!ep->hint_zones)
		return -ENOMEM;
	cJSON_ArrayForEach(z, zones)
	{
		const cJSON *name = cJSON_IsObject(z) ? cJSON_GetObjectItemCaseSensitive(z, "name")
						      : NULL;

		if (!cJSON_IsString(name)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", name ? name : z,
				     "missing zone name", "endpoints[%zu].hints.forZones[%zu].name",
				     i, k);
		} else {
			if (kube_dec_strdup(name->valuestring, &ep->hint_zones[ep->n_hint_zones]) <
			    0)
				return -ENOMEM;
			ep->n_hint_zones++;
		}
		k++;
	}
	if (ep->n_hint_zones == 0)
		ep->hint_zones = mfree(ep->hint_zones);
	return 0;
}

/* Decodes endpoints[i] into ep; 1 when kept, 0 when dropped (logged), -ENOMEM. */
static int kube_dec_endpoint(struct kube_dec *d, const cJSON *e, size_t i, int family,
			     struct kube_endpoint *ep)
{
	const cJSON *addrs, *conds, *v;
	char path[64];
	int r;

	if (!cJSON_IsObject(e)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", e, "not an object",
			     "endpoints[%zu]", i);
		return 0;
	}
	snprintf(path, sizeof(path), "endpoints[%zu].addresses", i);
	addrs = kube_dec_get(d, e, "addresses", cJSON_Array, path);
	snprintf(path, sizeof(path), "endpoints[%zu].addresses[0]", i);
	if (!addrs || !addrs->child) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", NULL, "endpoint has no address",
			     "%s", path);
		return 0;
	}
	if (kube_dec_addr(d, addrs->child, path, &ep->addr) < 0)
		return 0;
	if (ep->addr.family != family) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", addrs->child,
			     "address family differs from addressType", "%s", path);
		return 0;
	}
	snprintf(path, sizeof(path), "endpoints[%zu].conditions", i);
	conds = kube_dec_get(d, e, "conditions", cJSON_Object, path);
	ep->ready = kube_dec_condition(d, conds, "ready", i, true);
	/* Absent serving is true, as kube-proxy reads it (not the API reference's "= ready"). */
	ep->serving = kube_dec_condition(d, conds, "serving", i, true);
	ep->terminating = kube_dec_condition(d, conds, "terminating", i, false);
	snprintf(path, sizeof(path), "endpoints[%zu].nodeName", i);
	v = kube_dec_get(d, e, "nodeName", cJSON_String, path);
	if (v && kube_dec_strdup(v->valuestring, &ep->node_name) < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "endpoints[%zu].zone", i);
	v = kube_dec_get(d, e, "zone", cJSON_String, path);
	if (v && kube_dec_strdup(v->valuestring, &ep->zone) < 0)
		return -ENOMEM;
	r = kube_dec_hints(d, e, i, ep);
	if (r < 0)
		return r;
	return 1;
}

static void kube_endpoint_clear(struct kube_endpoint *ep)
{
	free(ep->node_name);
	free(ep->zone);
	for (size_t z = 0; z < ep->n_hint_zones; z++)
		free(ep->hint_zones[z]);
	free(ep->hint_zones);
	*ep = (struct kube_endpoint){0};
}

int kube_decode_endpoint_slice(const cJSON *obj, struct kube_endpoint_slice **ret_slice)
{
	_cleanup_(kube_endpoint_slice_freep) struct kube_endpoint_slice *slice = NULL;
	struct kube_dec d = {.kind = "EndpointSlice", .key = "slice"};
	const cJSON *md, *at, *arr, *e;
	const char *s;
	size_t n, i = 0;
	int r;

	slice = calloc(1, sizeof(*slice));
	if (!slice)
		return -ENOMEM;
	r = kube_dec_meta(&d, obj, true, &slice->meta, &md);
	if (r < 0)
		return r;
	s = kube_dec_map_string(&d, md, "labels", KUBE_LABEL_SERVICE_NAME);
	if (s && *s && kube_dec_strdup(s, &slice->service_name) < 0)
		return -ENOMEM;
	s = kube_dec_map_string(&d, md, "annotations", KUBE_ANNOT_TRIGGER_TIME);
	if (s) {
		slice->last_change_trigger_time_ns = kube_dec_rfc3339_ns(s);
		if (slice->last_change_trigger_time_ns == 0)
			kube_dec_log(&d, LOG_LEVEL_DEBUG, "dropped field",
				     cJSON_GetObjectItemCaseSensitive(
					     cJSON_GetObjectItemCaseSensitive(md, "annotations"),
					     KUBE_ANNOT_TRIGGER_TIME),
				     "not an RFC 3339 time", "metadata.annotations[%s]",
				     KUBE_ANNOT_TRIGGER_TIME);
	}

	at = cJSON_GetObjectItemCaseSensitive(obj, "addressType");
	if (cJSON_IsString(at) && strcmp(at->valuestring, "IPv4") == 0) {
		slice->family = AF_INET;
	} else if (cJSON_IsString(at) && strcmp(at->valuestring, "IPv6") == 0) {
		slice->family = AF_INET6;
	} else if (cJSON_IsString(at) && strcmp(at->valuestring, "FQDN") == 0) {
		kube_dec_log(&d, LOG_LEVEL_INFO, "ignored object", at,
			     "FQDN endpoints cannot be proxied", "%s", "addressType");
		return -EOPNOTSUPP;
	} else {
		kube_dec_log(&d, LOG_LEVEL_WARN, "rejected object", at, "unknown addressType",
			     "%s", "addressType");
		return -EINVAL;
	}

	r = kube_dec_slice_ports(&d, obj, slice);
	if (r < 0)
		return r;
	arr = kube_dec_get(&d, obj, "endpoints", cJSON_Array, "endpoints");
	n = kube_dec_array_len(arr);
	if (n == 0) {
		*ret_slice = TAKE_PTR(slice);
		return 0;
	}
	slice->endpoints = calloc(n, sizeof(*slice->endpoints));
	if (!slice->endpoints)
		return -ENOMEM;
	for (e = arr->child; e; e = e->next, i++) {
		struct kube_endpoint *ep = &slice->endpoints[slice->n_endpoints];

		r = kube_dec_endpoint(&d, e, i, slice->family, ep);
		if (r > 0) {
			slice->n_endpoints++;
			continue;
		}
		/* A dropped endpoint may have filled some members before its failure. */
		kube_endpoint_clear(ep);
		if (r < 0)
			return r;
	}
	if (slice->n_endpoints == 0)
		slice->endpoints = mfree(slice->endpoints);
	*ret_slice = TAKE_PTR(slice);
	return 0;
}

static int kube_dec_node_addresses(struct kube_dec *d, const cJSON *obj, struct kube_node *node)
{
	const cJSON *status = kube_dec_get(d, obj, "status", cJSON_Object, "status");
	const cJSON *arr = kube_dec_get(d, status, "addresses", cJSON_Array, "status.addresses");
	size_t n = kube_dec_array_len(arr), i = 0;
	const cJSON *a;

	if (n == 0)
		return 0;
	node->internal_ips = calloc(n, sizeof(*node->internal_ips));
	node->external_ips = calloc(n, sizeof(*node->external_ips));
	if (!node->internal_ips || !node->external_ips)
		return -ENOMEM;
	for (a = arr->child; a; a = a->next, i++) {
		const cJSON *type = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, "type")
						      : NULL;
		struct net_addr *dst;
		size_t *count;
		char path[64];

		if (!cJSON_IsString(type)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", type ? type : a,
				     "missing address type", "status.addresses[%zu].type", i);
			continue;
		}
		if (strcmp(type->valuestring, "InternalIP") == 0) {
			dst = &node->internal_ips[node->n_internal_ips];
			count = &node->n_internal_ips;
		} else if (strcmp(type->valuestring, "ExternalIP") == 0) {
			dst = &node->external_ips[node->n_external_ips];
			count = &node->n_external_ips;
		} else {
			continue; /* Hostname, InternalDNS, ExternalDNS: not addresses we use */
		}
		snprintf(path, sizeof(path), "status.addresses[%zu].address", i);
		if (kube_dec_addr(d, cJSON_GetObjectItemCaseSensitive(a, "address"), path, dst) == 0)
			(*count)++;
	}
	if (node->n_internal_ips == 0)
		node->internal_ips = mfree(node->internal_ips);
	if (node->n_external_ips == 0)
		node->external_ips = mfree(node->external_ips);
	return 0;
}

int kube_decode_node(const cJSON *obj, struct kube_node **ret_node)
{
	_cleanup_(kube_node_freep) struct kube_node *node = NULL;
	struct kube_dec d = {.kind = "Node", .key = "node"};
	const cJSON *md, *spec, *taints, *t, *v;
	const char *zone;
	int r;

	node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	r = kube_dec_meta(&d, obj, false, &node->meta, &md);
	if (r < 0)
		return r;
	zone = kube_dec_map_string(&d, md, "labels", KUBE_LABEL_ZONE);
	if (zone && kube_dec_strdup(zone, &node->zone) < 0)
		return -ENOMEM;
	v = cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp");
	node->deleting = v && !cJSON_IsNull(v);
	r = kube_dec_node_addresses(&d, obj, node);
	if (r < 0)
		return r;
	spec = kube_dec_get(&d, obj, "spec", cJSON_Object, "spec");
	taints = kube_dec_get(&d, spec, "taints", cJSON_Array, "spec.taints");
	cJSON_ArrayForEach(t, taints)
	{
		const cJSON *key = cJSON_IsObject(t) ? cJSON_GetObjectItemCaseSensitive(t, "key")
						     : NULL;

		if (cJSON_IsString(key) && strcmp(key->valuestring, KUBE_TAINT_TO_BE_DELETED) == 0)
			node->to_be_deleted = true;
	}
	*ret_node = TAKE_PTR(node);
	return 0;
}
