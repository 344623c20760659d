/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON (cJSON tree) to the typed model: Services and the document walker, with the helpers
 * shared by the EndpointSlice and Node decoders (kube_decode_slice.c). Validation happens
 * here, once, so the caches and the plan only ever see usable values.
 */
#include "kube_decode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kube_decode_internal.h"
#include "log.h"

/* Prints a JSON value briefly for a log line: strings quoted and cut to 64 bytes. */
static const char *kube_dec_value(const cJSON *v, char *buf, size_t size)
{
	char cut[68];

	if (!v)
		return "absent";
	if (cJSON_IsString(v)) {
		snprintf(cut, sizeof(cut), "%.64s", v->valuestring);
		return log_quote(buf, size, cut);
	}
	if (cJSON_IsNumber(v)) {
		if (isfinite(v->valuedouble) && fabs(v->valuedouble) < 1e18 &&
		    floor(v->valuedouble) == v->valuedouble)
			snprintf(buf, size, "%.0f", v->valuedouble);
		else
			snprintf(buf, size, "%g", v->valuedouble);
		return buf;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "<array>";
	if (cJSON_IsObject(v))
		return "<object>";
	return "<invalid>";
}

void kube_dec_log(const struct kube_dec *d, enum log_level level, const char *msg,
		  const cJSON *value, const char *reason, const char *field_fmt, ...)
{
	char field[160], qfield[200], key[300], qkey[340], qval[200], qreason[160];
	va_list ap;

	if (!log_is_enabled(level))
		return;
	va_start(ap, field_fmt);
	(void)vsnprintf(field, sizeof(field), field_fmt, ap);
	va_end(ap);
	if (d->ns && *d->ns)
		snprintf(key, sizeof(key), "%.140s/%.140s", d->ns, d->name ? d->name : "");
	else
		snprintf(key, sizeof(key), "%.280s", d->name ? d->name : "");
	log_write(level, "kube", msg, "kind=%s %s=%s field=%s value=%s reason=%s", d->kind,
		  d->key, log_quote(qkey, sizeof(qkey), key), log_quote(qfield, sizeof(qfield), field),
		  kube_dec_value(value, qval, sizeof(qval)),
		  log_quote(qreason, sizeof(qreason), reason));
}

const cJSON *kube_dec_get(struct kube_dec *d, const cJSON *parent, const char *key, int type,
			  const char *path)
{
	const cJSON *v;

	if (!parent)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if ((v->type & 0xff) != type) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "wrong type", "%s", path);
		return NULL;
	}
	return v;
}

int kube_dec_strdup(const char *s, char **ret)
{
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

int kube_dec_port(struct kube_dec *d, const cJSON *v, const char *path, uint16_t *ret_port)
{
	double x;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "not a number", "%s", path);
		return -EINVAL;
	}
	x = v->valuedouble;
	if (!isfinite(x) || floor(x) != x || x < 1 || x > 65535) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "port out of range", "%s", path);
		return -EINVAL;
	}
	*ret_port = (uint16_t)x;
	return 1;
}

int kube_dec_proto(struct kube_dec *d, const cJSON *parent, const char *path,
		   enum kube_proto *ret_proto)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, "protocol");

	if (!v || cJSON_IsNull(v)) {
		*ret_proto = KUBE_PROTO_TCP;
		return 0;
	}
	if (cJSON_IsString(v)) {
		for (int p = 0; p < _KUBE_PROTO_MAX; p++)
			if (strcmp(v->valuestring, kube_proto_to_string(p)) == 0) {
				*ret_proto = p;
				return 0;
			}
	}
	kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "unknown protocol", "%s", path);
	return -EINVAL;
}

int kube_dec_addr(struct kube_dec *d, const cJSON *v, const char *path, struct net_addr *ret_addr)
{
	if (!cJSON_IsString(v)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "not a string", "%s", path);
		return -EINVAL;
	}
	if (net_addr_parse(v->valuestring, ret_addr) < 0) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "invalid IP address", "%s", path);
		return -EINVAL;
	}
	return 0;
}

/* The array's length (0 for NULL). */
size_t kube_dec_array_len(const cJSON *arr)
{
	int n = arr ? cJSON_GetArraySize(arr) : 0;

	return n > 0 ? (size_t)n : 0;
}

int kube_dec_addr_list(struct kube_dec *d, const cJSON *arr, const char *path,
		       struct net_addr **ret_addrs, size_t *ret_n)
{
	size_t n = kube_dec_array_len(arr), k = 0, i = 0;
	_cleanup_free_ struct net_addr *addrs = NULL;
	const cJSON *v;

	if (n > 0) {
		addrs = calloc(n, sizeof(*addrs));
		if (!addrs)
			return -ENOMEM;
	}
	cJSON_ArrayForEach(v, arr)
	{
		char field[96];

		snprintf(field, sizeof(field), "%s[%zu]", path, i++);
		if (kube_dec_addr(d, v, field, &addrs[k]) == 0)
			k++;
	}
	*ret_n = k;
	*ret_addrs = k ? TAKE_PTR(addrs) : NULL;
	return 0;
}

/* Reads metadata.name (required) and metadata.namespace into meta; sets d's names. */
int kube_dec_meta(struct kube_dec *d, const cJSON *obj, bool namespaced, struct kube_meta *meta,
		  const cJSON **ret_metadata)
{
	const cJSON *md, *name, *ns, *v;
	int r;

	if (!cJSON_IsObject(obj)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "rejected object", obj, "not a JSON object", "%s",
			     "");
		return -EINVAL;
	}
	md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!cJSON_IsObject(md)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "rejected object", md, "missing metadata", "%s",
			     "metadata");
		return -EINVAL;
	}
	ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	if (namespaced && cJSON_IsString(ns) && *ns->valuestring)
		r = kube_dec_strdup(ns->valuestring, &meta->namespace);
	else
		r = kube_dec_strdup(namespaced ? "default" : "", &meta->namespace);
	if (r < 0)
		return r;
	d->ns = meta->namespace;
	name = cJSON_GetObjectItemCaseSensitive(md, "name");
	if (!cJSON_IsString(name) || !*name->valuestring) {
		kube_dec_log(d, LOG_LEVEL_WARN, "rejected object", name, "missing name", "%s",
			     "metadata.name");
		return -EINVAL;
	}
	if (kube_dec_strdup(name->valuestring, &meta->name) < 0)
		return -ENOMEM;
	d->name = meta->name;
	v = kube_dec_get(d, md, "uid", cJSON_String, "metadata.uid");
	if (v && kube_dec_strdup(v->valuestring, &meta->uid) < 0)
		return -ENOMEM;
	v = kube_dec_get(d, md, "resourceVersion", cJSON_String, "metadata.resourceVersion");
	if (v && kube_dec_strdup(v->valuestring, &meta->resource_version) < 0)
		return -ENOMEM;
	*ret_metadata = md;
	return 0;
}

/* A string label or annotation value: NULL when absent; a non-string is logged and dropped. */
const char *kube_dec_map_string(struct kube_dec *d, const cJSON *md, const char *map,
				const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(md, map);
	const cJSON *v;

	if (!cJSON_IsObject(m))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(m, key);
	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "not a string",
			     "metadata.%s[%s]", map, key);
		return NULL;
	}
	return v->valuestring;
}

/* Matches a string member against a table of names; returns the index, or -1 (logged). */
static int kube_dec_enum(struct kube_dec *d, const cJSON *parent, const char *key,
			 const char *path, const char *const *names, size_t n_names, int absent,
			 bool log_unknown)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, key);

	if (!v || cJSON_IsNull(v))
		return absent;
	if (cJSON_IsString(v))
		for (size_t i = 0; i < n_names; i++)
			if (strcmp(v->valuestring, names[i]) == 0)
				return (int)i;
	if (log_unknown)
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "unknown value", "%s", path);
	return -1;
}

static int kube_dec_svc_ports(struct kube_dec *d, const cJSON *spec, struct kube_service *svc)
{
	const cJSON *arr = kube_dec_get(d, spec, "ports", cJSON_Array, "spec.ports");
	size_t n = kube_dec_array_len(arr), i = 0;
	const cJSON *p;
	char path[64];

	if (n == 0)
		return 0;
	svc->ports = calloc(n, sizeof(*svc->ports));
	if (!svc->ports)
		return -ENOMEM;
	cJSON_ArrayForEach(p, arr)
	{
		struct kube_svc_port *port = &svc->ports[svc->n_ports];
		const cJSON *name;
		int r;

		if (!cJSON_IsObject(p)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", p, "not an object",
				     "spec.ports[%zu]", i++);
			continue;
		}
		snprintf(path, sizeof(path), "spec.ports[%zu].protocol", i);
		if (kube_dec_proto(d, p, path, &port->proto) < 0) {
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "spec.ports[%zu].port", i);
		r = kube_dec_port(d, cJSON_GetObjectItemCaseSensitive(p, "port"), path,
				  &port->port);
		if (r == 0)
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", NULL, "missing port", "%s",
				     path);
		if (r <= 0) {
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "spec.ports[%zu].nodePort", i);
		/* nodePort 0 means "none"; a bad one drops only the node port. */
		name = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
		if (!(cJSON_IsNumber(name) && name->valuedouble == 0))
			(void)kube_dec_port(d, name, path, &port->node_port);
		snprintf(path, sizeof(path), "spec.ports[%zu].name", i);
		name = kube_dec_get(d, p, "name", cJSON_String, path);
		if (kube_dec_strdup(name ? name->valuestring : "", &port->name) < 0)
			return -ENOMEM;
		svc->n_ports++;
		i++;
	}
	if (svc->n_ports == 0)
		svc->ports = mfree(svc->ports);
	return 0;
}

static int kube_dec_svc_cluster_ips(struct kube_dec *d, const cJSON *spec,
				    struct kube_service *svc)
{
	const cJSON *ips = kube_dec_get(d, spec, "clusterIPs", cJSON_Array, "spec.clusterIPs");
	const cJSON *ip = kube_dec_get(d, spec, "clusterIP", cJSON_String, "spec.clusterIP");
	const cJSON *first;

	/* An empty clusterIPs says nothing; clusterIP then decides. */
	if (kube_dec_array_len(ips) == 0)
		ips = NULL;
	first = ips ? cJSON_GetArrayItem(ips, 0) : ip;

	if (!first || (cJSON_IsString(first) &&
		       (strcmp(first->valuestring, "None") == 0 || !*first->valuestring))) {
		svc->headless = true;
		return 0;
	}
	if (!ips) {
		svc->cluster_ips = calloc(1, sizeof(*svc->cluster_ips));
		if (!svc->cluster_ips)
			return -ENOMEM;
		if (kube_dec_addr(d, ip, "spec.clusterIP", &svc->cluster_ips[0]) == 0)
			svc->n_cluster_ips = 1;
		else
			svc->cluster_ips = mfree(svc->cluster_ips);
		return 0;
	}
	return kube_dec_addr_list(d, ips, "spec.clusterIPs", &svc->cluster_ips,
				  &svc->n_cluster_ips);
}

static void kube_dec_svc_families(struct kube_dec *d, const cJSON *spec, struct kube_service *svc)
{
	const cJSON *arr = kube_dec_get(d, spec, "ipFamilies", cJSON_Array, "spec.ipFamilies");
	const cJSON *v;
	size_t i = 0;

	if (!arr) {
		/* Absent: the families of the cluster IPs, in their order. */
		for (size_t k = 0; k < svc->n_cluster_ips && svc->n_ip_families < 2; k++) {
			int fam = svc->cluster_ips[k].family;

			if (svc->n_ip_families == 0 || svc->ip_families[0] != fam)
				svc->ip_families[svc->n_ip_families++] = fam;
		}
		return;
	}
	cJSON_ArrayForEach(v, arr)
	{
		int fam = 0;

		if (cJSON_IsString(v) && strcmp(v->valuestring, "IPv4") == 0)
			fam = AF_INET;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "IPv6") == 0)
			fam = AF_INET6;
		if (fam == 0)
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "unknown IP family",
				     "spec.ipFamilies[%zu]", i);
		else if (svc->n_ip_families >= 2 ||
			 (svc->n_ip_families == 1 && svc->ip_families[0] == fam))
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "duplicate IP family",
				     "spec.ipFamilies[%zu]", i);
		else
			svc->ip_families[svc->n_ip_families++] = fam;
		i++;
	}
}

static int kube_dec_svc_lb(struct kube_dec *d, const cJSON *obj, struct kube_service *svc)
{
	const cJSON *status = kube_dec_get(d, obj, "status", cJSON_Object, "status");
	const cJSON *lb = kube_dec_get(d, status, "loadBalancer", cJSON_Object,
				       "status.loadBalancer");
	const cJSON *arr = kube_dec_get(d, lb, "ingress", cJSON_Array,
					"status.loadBalancer.ingress");
	size_t n = kube_dec_array_len(arr), i = 0;
	const cJSON *e;

	if (n == 0)
		return 0;
	svc->lb_ingress = calloc(n, sizeof(*svc->lb_ingress));
	if (!svc->lb_ingress)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		struct kube_lb_ingress *ing = &svc->lb_ingress[svc->n_lb_ingress];
		const cJSON *ip = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "ip")
						    : NULL;
		const cJSON *mode;
		char path[64];

		/* An entry with only a hostname (an ELB, say) is not ours to program. */
		if (!ip || cJSON_IsNull(ip) || (cJSON_IsString(ip) && !*ip->valuestring)) {
			if (!cJSON_IsObject(e))
				kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", e,
					     "not an object", "status.loadBalancer.ingress[%zu]",
					     i);
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu].ip", i);
		if (kube_dec_addr(d, ip, path, &ing->ip) < 0) {
			i++;
			continue;
		}
		mode = cJSON_GetObjectItemCaseSensitive(e, "ipMode");
		if (cJSON_IsString(mode) && strcmp(mode->valuestring, "Proxy") == 0)
			ing->ip_mode_proxy = true;
		else if (mode && !cJSON_IsNull(mode) &&
			 !(cJSON_IsString(mode) && strcmp(mode->valuestring, "VIP") == 0))
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", mode, "unknown ipMode",
				     "status.loadBalancer.ingress[%zu].ipMode", i);
		svc->n_lb_ingress++;
		i++;
	}
	if (svc->n_lb_ingress == 0)
		svc->lb_ingress = mfree(svc->lb_ingress);
	return 0;
}

static int kube_dec_svc_source_ranges(struct kube_dec *d, const cJSON *spec,
				      struct kube_service *svc)
{
	const cJSON *arr = kube_dec_get(d, spec, "loadBalancerSourceRanges", cJSON_Array,
					"spec.loadBalancerSourceRanges");
	size_t n = kube_dec_array_len(arr), i = 0;
	const cJSON *v;

	if (n == 0)
		return 0;
	svc->lb_source_ranges = calloc(n, sizeof(*svc->lb_source_ranges));
	if (!svc->lb_source_ranges)
		return -ENOMEM;
	cJSON_ArrayForEach(v, arr)
	{
		char text[128];
		const char *s;
		size_t len;

		if (!cJSON_IsString(v)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "not a string",
				     "spec.loadBalancerSourceRanges[%zu]", i++);
			continue;
		}
		/* kube-proxy trims blanks around each range. */
		for (s = v->valuestring; *s == ' ' || *s == '\t'; s++)
			;
		len = strlen(s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len >= sizeof(text) ||
		    (snprintf(text, sizeof(text), "%.*s", (int)len, s),
		     net_prefix_parse(text, &svc->lb_source_ranges[svc->n_lb_source_ranges]) < 0)) {
			kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", v, "invalid CIDR",
				     "spec.loadBalancerSourceRanges[%zu]", i++);
			continue;
		}
		svc->n_lb_source_ranges++;
		i++;
	}
	if (svc->n_lb_source_ranges == 0)
		svc->lb_source_ranges = mfree(svc->lb_source_ranges);
	return 0;
}

static void kube_dec_svc_affinity(struct kube_dec *d, const cJSON *spec, struct kube_service *svc)
{
	static const char *const names[] = {"None", "ClientIP"};
	const cJSON *cfg, *cip, *t;

	svc->affinity_client_ip = kube_dec_enum(d, spec, "sessionAffinity", "spec.sessionAffinity",
						names, ARRAY_SIZE(names), 0, true) == 1;
	svc->affinity_timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;
	cfg = kube_dec_get(d, spec, "sessionAffinityConfig", cJSON_Object,
			   "spec.sessionAffinityConfig");
	cip = kube_dec_get(d, cfg, "clientIP", cJSON_Object, "spec.sessionAffinityConfig.clientIP");
	t = cip ? cJSON_GetObjectItemCaseSensitive(cip, "timeoutSeconds") : NULL;
	if (!t || cJSON_IsNull(t))
		return;
	if (cJSON_IsNumber(t) && floor(t->valuedouble) == t->valuedouble &&
	    t->valuedouble >= 1 && t->valuedouble <= 86400)
		svc->affinity_timeout = (uint32_t)t->valuedouble;
	else
		kube_dec_log(d, LOG_LEVEL_WARN, "dropped field", t,
			     "timeout out of range 1-86400, using 10800",
			     "spec.sessionAffinityConfig.clientIP.timeoutSeconds");
}

int kube_decode_service(const cJSON *obj, struct kube_service **ret_svc)
{
	static const char *const types[] = {
		[KUBE_SVC_CLUSTER_IP] = "ClusterIP",
		[KUBE_SVC_NODE_PORT] = "NodePort",
		[KUBE_SVC_LOAD_BALANCER] = "LoadBalancer",
		[KUBE_SVC_EXTERNAL_NAME] = "ExternalName",
	};
	static const char *const policies[] = {
		[KUBE_POLICY_CLUSTER] = "Cluster",
		[KUBE_POLICY_LOCAL] = "Local",
	};
	_cleanup_(kube_service_freep) struct kube_service *svc = NULL;
	struct kube_dec d = {.kind = "Service", .key = "svc"};
	const cJSON *md, *spec, *v;
	const char *label;
	int r, t;

	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	r = kube_dec_meta(&d, obj, true, &svc->meta, &md);
	if (r < 0)
		return r;

	label = kube_dec_map_string(&d, md, "labels", "service.kubernetes.io/service-proxy-name");
	if (label && kube_dec_strdup(label, &svc->service_proxy_name) < 0)
		return -ENOMEM;
	v = cJSON_GetObjectItemCaseSensitive(md, "labels");
	svc->label_headless =
		cJSON_IsObject(v) && cJSON_HasObjectItem(v, "service.kubernetes.io/headless");

	spec = kube_dec_get(&d, obj, "spec", cJSON_Object, "spec");
	t = kube_dec_enum(&d, spec, "type", "spec.type", types, ARRAY_SIZE(types),
			  KUBE_SVC_CLUSTER_IP, false);
	if (t < 0) {
		/* Guessing a type could expose ports that were never asked for. */
		kube_dec_log(&d, LOG_LEVEL_WARN, "rejected object",
			     cJSON_GetObjectItemCaseSensitive(spec, "type"), "unknown Service type",
			     "%s", "spec.type");
		return -EINVAL;
	}
	svc->type = (enum kube_svc_type)t;

	r = kube_dec_svc_cluster_ips(&d, spec, svc);
	if (r < 0)
		return r;
	kube_dec_svc_families(&d, spec, svc);
	r = kube_dec_svc_ports(&d, spec, svc);
	if (r < 0)
		return r;
	v = kube_dec_get(&d, spec, "externalIPs", cJSON_Array, "spec.externalIPs");
	r = kube_dec_addr_list(&d, v, "spec.externalIPs", &svc->external_ips,
			       &svc->n_external_ips);
	if (r < 0)
		return r;
	r = kube_dec_svc_lb(&d, obj, svc);
	if (r < 0)
		return r;
	r = kube_dec_svc_source_ranges(&d, spec, svc);
	if (r < 0)
		return r;
	kube_dec_svc_affinity(&d, spec, svc);

	t = kube_dec_enum(&d, spec, "externalTrafficPolicy", "spec.externalTrafficPolicy",
			  policies, ARRAY_SIZE(policies), KUBE_POLICY_CLUSTER, true);
	svc->external_policy = t < 0 ? KUBE_POLICY_CLUSTER : (enum kube_traffic_policy)t;
	t = kube_dec_enum(&d, spec, "internalTrafficPolicy", "spec.internalTrafficPolicy",
			  policies, ARRAY_SIZE(policies), KUBE_POLICY_CLUSTER, true);
	svc->internal_policy = t < 0 ? KUBE_POLICY_CLUSTER : (enum kube_traffic_policy)t;

	v = spec ? cJSON_GetObjectItemCaseSensitive(spec, "healthCheckNodePort") : NULL;
	if (!(cJSON_IsNumber(v) && v->valuedouble == 0))
		(void)kube_dec_port(&d, v, "spec.healthCheckNodePort",
				    &svc->health_check_node_port);
	v = kube_dec_get(&d, spec, "trafficDistribution", cJSON_String, "spec.trafficDistribution");
	if (v && kube_dec_strdup(v->valuestring, &svc->traffic_distribution) < 0)
		return -ENOMEM;

	*ret_svc = TAKE_PTR(svc);
	return 0;
}

bool kube_service_is_proxied(const struct kube_service *svc, const char *proxy_name)
{
	if (svc->label_headless)
		return false;
	if (!svc->service_proxy_name)
		return true;
	return proxy_name && strcmp(svc->service_proxy_name, proxy_name) == 0;
}

void kube_object_clear(struct kube_object *obj)
{
	switch (obj->kind) {
	case KUBE_KIND_SERVICE:
		obj->svc = kube_service_free(obj->svc);
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		obj->slice = kube_endpoint_slice_free(obj->slice);
		break;
	case KUBE_KIND_NODE:
		obj->node = kube_node_free(obj->node);
		break;
	case _KUBE_KIND_MAX:
		break;
	}
}

const struct kube_meta *kube_object_meta(const struct kube_object *obj)
{
	switch (obj->kind) {
	case KUBE_KIND_SERVICE:
		return obj->svc ? &obj->svc->meta : NULL;
	case KUBE_KIND_ENDPOINT_SLICE:
		return obj->slice ? &obj->slice->meta : NULL;
	case KUBE_KIND_NODE:
		return obj->node ? &obj->node->meta : NULL;
	case _KUBE_KIND_MAX:
		break;
	}
	return NULL;
}

int kube_kind_from_string(const char *text, enum kube_kind *ret_kind)
{
	static const char *const names[] = {
		[KUBE_KIND_SERVICE] = "Service",
		[KUBE_KIND_ENDPOINT_SLICE] = "EndpointSlice",
		[KUBE_KIND_NODE] = "Node",
	};

	if (!text)
		return -ENOENT;
	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		size_t len = strlen(names[k]);

		if (strncmp(text, names[k], len) == 0 &&
		    (text[len] == '\0' || strcmp(text + len, "List") == 0)) {
			*ret_kind = (enum kube_kind)k;
			return 0;
		}
	}
	return -ENOENT;
}

int kube_decode_object(const cJSON *obj, const char *kind_hint, struct kube_object *ret_obj)
{
	const cJSON *kind = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "kind")
						: NULL;
	struct kube_object o = {.kind = _KUBE_KIND_MAX};
	int r;

	if (cJSON_IsString(kind))
		r = kube_kind_from_string(kind->valuestring, &o.kind);
	else
		r = kube_kind_from_string(kind_hint, &o.kind);
	if (r < 0)
		return -ENOMSG;
	switch (o.kind) {
	case KUBE_KIND_SERVICE:
		r = kube_decode_service(obj, &o.svc);
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		r = kube_decode_endpoint_slice(obj, &o.slice);
		break;
	case KUBE_KIND_NODE:
		r = kube_decode_node(obj, &o.node);
		break;
	case _KUBE_KIND_MAX:
		return -ENOMSG;
	}
	if (r < 0)
		return r;
	*ret_obj = o;
	return 0;
}

int kube_decode_item(const cJSON *item, const char *kind_hint, kube_decode_object_fn fn,
		     void *userdata)
{
	struct kube_object o;
	int r;

	r = kube_decode_object(item, kind_hint, &o);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0; /* other kinds are skipped; rejected objects were logged */
	r = fn(&o, userdata);
	return r < 0 ? r : 1;
}

int kube_decode_document_shape(const cJSON *doc, const char *origin, const char **ret_list_kind)
{
	const cJSON *kind, *items;
	char qorigin[300];

	if (!cJSON_IsObject(doc)) {
		/* An empty YAML document (a trailing "---") is null: nothing in it. */
		if (cJSON_IsNull(doc))
			return KUBE_DOC_EMPTY;
		log_warn("kube", "skipped document", "origin=%s reason=\"not a JSON object\"",
			 log_quote(qorigin, sizeof(qorigin), origin ? origin : "-"));
		return -EBADMSG;
	}
	kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	if (cJSON_IsString(kind) && strlen(kind->valuestring) >= 4 &&
	    strcmp(kind->valuestring + strlen(kind->valuestring) - 4, "List") == 0) {
		enum kube_kind k;

		if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
			log_warn("kube", "skipped document",
				 "origin=%s field=items reason=\"not an array\"",
				 log_quote(qorigin, sizeof(qorigin), origin ? origin : "-"));
			return -EBADMSG;
		}
		/* "List" holds mixed items, each with its kind; "ServiceList" names theirs. */
		if (strcmp(kind->valuestring, "List") != 0 &&
		    kube_kind_from_string(kind->valuestring, &k) < 0)
			return KUBE_DOC_EMPTY;
		*ret_list_kind = kind->valuestring;
		return KUBE_DOC_LIST;
	}
	return KUBE_DOC_OBJECT;
}

int kube_decode_document(const cJSON *doc, const char *origin, kube_decode_object_fn fn,
			 void *userdata)
{
	const char *list_kind = NULL;
	const cJSON *item;
	int count = 0, r;

	r = kube_decode_document_shape(doc, origin, &list_kind);
	if (r < 0)
		return r;
	switch ((enum kube_doc_shape)r) {
	case KUBE_DOC_EMPTY:
		return 0;
	case KUBE_DOC_OBJECT:
		return kube_decode_item(doc, NULL, fn, userdata);
	case KUBE_DOC_LIST:
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "items"))
		{
			r = kube_decode_item(item, list_kind, fn, userdata);
			if (r < 0)
				return r;
			count += r;
		}
		return count;
	case _KUBE_DOC_SHAPE_MAX:
		break;
	}
	return -EINVAL;
}
