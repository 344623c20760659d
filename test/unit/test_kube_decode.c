/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the decoder (lib/kube_decode.c, kube_decode_slice.c, kube_yaml.c): valid
 * objects of each kind, every kind of bad field (dropped with one log line naming the object
 * and the field), rejected objects, the Kubernetes project's fuzzed API test data, lists and
 * YAML scalar resolution.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "kube_decode.h"
#include "kube_yaml.h"
#include "cleanup.h"
#include "log.h"

/* Captures the log of one case. */
struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void capture_start(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	log_set_stream(c->f);
	log_set_verbosity(1);
}

static const char *capture_end(struct capture *c)
{
	log_set_stream(NULL);
	fclose(c->f);
	return c->buf;
}

/* Checks that the log holds every "|"-separated fragment of want, or nothing when want is NULL. */
static void check_log(const char *name, const char *log, const char *want)
{
	char copy[1024];

	if (!want) {
		if (strstr(log, "level=warn"))
			fail_msg("case %s: unexpected warning: %s", name, log);
		return;
	}
	snprintf(copy, sizeof(copy), "%s", want);
	for (char *save, *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		if (!strstr(log, tok))
			fail_msg("case %s: log lacks [%s]; log was:\n%s", name, tok, log);
}

/* One bad field, one line. */
static void check_one_line(const char *name, const char *log, const char *want)
{
	size_t lines = 0;

	for (const char *p = log; *p; p++)
		lines += *p == '\n';
	if (want && lines != 1)
		fail_msg("case %s: %zu log lines, want 1:\n%s", name, lines, log);
}

static const char *addr_str(const struct net_addr *a, char *buf)
{
	return net_addr_format(a, buf);
}

/* ---- Services ---------------------------------------------------------------------------- */

typedef void (*svc_check_fn)(const char *name, const struct kube_service *svc);

struct svc_case {
	const char *name;
	const char *json;
	int rc;
	const char *log; /* fragments that must appear; NULL: no warning at all */
	svc_check_fn check;
};

static void check_svc_full(const char *name, const struct kube_service *s)
{
	char b[NET_ADDR_STRLEN];

	assert_string_equal(s->meta.namespace, "default");
	assert_string_equal(s->meta.name, "web");
	assert_string_equal(s->meta.uid, "u1");
	assert_string_equal(s->meta.resource_version, "7");
	assert_int_equal(s->type, KUBE_SVC_LOAD_BALANCER);
	assert_false(s->headless);
	assert_int_equal(s->n_cluster_ips, 2);
	assert_string_equal(addr_str(&s->cluster_ips[0], b), "10.96.0.10");
	assert_string_equal(addr_str(&s->cluster_ips[1], b), "fd00::10");
	assert_int_equal(s->n_ip_families, 2);
	assert_int_equal(s->ip_families[0], AF_INET);
	assert_int_equal(s->ip_families[1], AF_INET6);
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].proto, KUBE_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 30080);
	assert_string_equal(s->ports[1].name, "");
	assert_int_equal(s->ports[1].proto, KUBE_PROTO_SCTP);
	assert_int_equal(s->ports[1].port, 9000);
	assert_int_equal(s->ports[1].node_port, 0);
	assert_int_equal(s->n_external_ips, 1);
	assert_string_equal(addr_str(&s->external_ips[0], b), "192.0.2.10");
	assert_int_equal(s->n_lb_ingress, 2);
	assert_string_equal(addr_str(&s->lb_ingress[0].ip, b), "203.0.113.5");
	assert_true(s->lb_ingress[0].ip_mode_proxy);
	assert_false(s->lb_ingress[1].ip_mode_proxy);
	assert_int_equal(s->n_lb_source_ranges, 2);
	assert_string_equal(addr_str(&s->lb_source_ranges[0].addr, b), "198.51.100.0");
	assert_int_equal(s->lb_source_ranges[0].len, 24);
	assert_int_equal(s->lb_source_ranges[1].len, 8);
	assert_true(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout, 600);
	assert_int_equal(s->external_policy, KUBE_POLICY_LOCAL);
	assert_int_equal(s->internal_policy, KUBE_POLICY_LOCAL);
	assert_int_equal(s->health_check_node_port, 32000);
	assert_string_equal(s->traffic_distribution, "PreferClose");
	assert_string_equal(s->service_proxy_name, "kipvs");
	assert_false(s->label_headless);
	(void)name;
}

static void check_svc_defaults(const char *name, const struct kube_service *s)
{
	char b[NET_ADDR_STRLEN];

	assert_string_equal(s->meta.namespace, "default");
	assert_null(s->meta.uid);
	assert_null(s->meta.resource_version);
	assert_int_equal(s->type, KUBE_SVC_CLUSTER_IP);
	assert_false(s->headless);
	assert_int_equal(s->n_cluster_ips, 1);
	assert_string_equal(addr_str(&s->cluster_ips[0], b), "fd00::1");
	assert_int_equal(s->n_ip_families, 1);
	assert_int_equal(s->ip_families[0], AF_INET6);
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].proto, KUBE_PROTO_TCP);
	assert_string_equal(s->ports[0].name, "");
	assert_false(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout, KUBE_AFFINITY_TIMEOUT_DEFAULT);
	assert_int_equal(s->external_policy, KUBE_POLICY_CLUSTER);
	assert_int_equal(s->internal_policy, KUBE_POLICY_CLUSTER);
	assert_int_equal(s->health_check_node_port, 0);
	assert_null(s->traffic_distribution);
	assert_null(s->service_proxy_name);
	assert_null(s->external_ips);
	assert_null(s->lb_ingress);
	assert_null(s->lb_source_ranges);
	(void)name;
}

static void check_headless(const char *name, const struct kube_service *s)
{
	assert_true(s->headless);
	assert_int_equal(s->n_cluster_ips, 0);
	assert_null(s->cluster_ips);
	(void)name;
}

static void check_one_port_80(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 80);
	(void)name;
}

static void check_no_cluster_ip(const char *name, const struct kube_service *s)
{
	assert_false(s->headless);
	assert_int_equal(s->n_cluster_ips, 0);
	assert_null(s->cluster_ips);
	(void)name;
}

static void check_second_cluster_ip_only(const char *name, const struct kube_service *s)
{
	char b[NET_ADDR_STRLEN];

	assert_int_equal(s->n_cluster_ips, 1);
	assert_string_equal(addr_str(&s->cluster_ips[0], b), "fd00::2");
	(void)name;
}

static void check_default_timeout(const char *name, const struct kube_service *s)
{
	assert_true(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout, KUBE_AFFINITY_TIMEOUT_DEFAULT);
	(void)name;
}

static void check_no_node_port(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].node_port, 0);
	(void)name;
}

static void check_hostname_lb_skipped(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_lb_ingress, 0);
	assert_null(s->lb_ingress);
	(void)name;
}

static void check_one_external_ip(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_external_ips, 1);
	(void)name;
}

static void check_one_range(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_lb_source_ranges, 1);
	assert_int_equal(s->lb_source_ranges[0].len, 16);
	(void)name;
}

static void check_one_family(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_ip_families, 1);
	assert_int_equal(s->ip_families[0], AF_INET);
	(void)name;
}

static void check_labels(const char *name, const struct kube_service *s)
{
	assert_true(s->label_headless);
	assert_string_equal(s->service_proxy_name, "other");
	(void)name;
}

static void check_no_ports(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->n_ports, 0);
	assert_null(s->ports);
	(void)name;
}

static void check_policy_cluster(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->external_policy, KUBE_POLICY_CLUSTER);
	(void)name;
}

static void check_hcnp_zero(const char *name, const struct kube_service *s)
{
	assert_int_equal(s->health_check_node_port, 0);
	(void)name;
}

#define SVC(body) "{\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\"}," body "}"

static const struct svc_case svc_cases[] = {
	{"full", "{\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
		 "\"uid\":\"u1\",\"resourceVersion\":\"7\",\"labels\":{"
		 "\"service.kubernetes.io/service-proxy-name\":\"kipvs\"}},"
		 "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.10\","
		 "\"clusterIPs\":[\"10.96.0.10\",\"fd00::10\"],\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
		 "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"nodePort\":30080},"
		 "{\"protocol\":\"SCTP\",\"port\":9000,\"nodePort\":0}],"
		 "\"externalIPs\":[\"192.0.2.10\"],\"sessionAffinity\":\"ClientIP\","
		 "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":600}},"
		 "\"externalTrafficPolicy\":\"Local\",\"internalTrafficPolicy\":\"Local\","
		 "\"healthCheckNodePort\":32000,"
		 "\"loadBalancerSourceRanges\":[\"198.51.100.0/24\",\" 10.0.0.0/8 \"],"
		 "\"trafficDistribution\":\"PreferClose\"},"
		 "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.5\",\"ipMode\":\"Proxy\"},"
		 "{\"ip\":\"203.0.113.6\",\"ipMode\":\"VIP\"},{\"hostname\":\"a.example\"}]}}}",
	 0, NULL, check_svc_full},
	{"defaults", "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"fd00::1\","
		     "\"ports\":[{\"port\":80}]}}",
	 0, NULL, check_svc_defaults},
	{"clusterIP None is headless", SVC("\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}"),
	 0, NULL, check_headless},
	{"clusterIPs None is headless", SVC("\"spec\":{\"clusterIPs\":[\"None\"]}"), 0, NULL,
	 check_headless},
	{"empty clusterIP is headless", SVC("\"spec\":{\"clusterIP\":\"\"}"), 0, NULL,
	 check_headless},
	{"absent clusterIP is headless", SVC("\"spec\":{\"ports\":[{\"port\":80}]}"), 0, NULL,
	 check_headless},
	{"no spec at all", SVC("\"status\":{}"), 0, NULL, check_headless},
	{"bad clusterIP", SVC("\"spec\":{\"clusterIP\":\"10.0.0.300\"}"), 0,
	 "msg=\"dropped field\" kind=Service svc=ns/web field=spec.clusterIP value=10.0.0.300 "
	 "reason=\"invalid IP address\"",
	 check_no_cluster_ip},
	{"bad first of clusterIPs", SVC("\"spec\":{\"clusterIPs\":[\"25\",\"fd00::2\"]}"), 0,
	 "field=spec.clusterIPs[0] value=25", check_second_cluster_ip_only},
	{"port out of range",
	 SVC("\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80},{\"port\":70000}]}"), 0,
	 "level=warn component=kube msg=\"dropped field\" kind=Service svc=ns/web "
	 "field=spec.ports[1].port value=70000 reason=\"port out of range\"",
	 check_one_port_80},
	{"port zero", SVC("\"spec\":{\"ports\":[{\"port\":0},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].port value=0", check_one_port_80},
	{"port negative", SVC("\"spec\":{\"ports\":[{\"port\":-1},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].port value=-1", check_one_port_80},
	{"port fractional", SVC("\"spec\":{\"ports\":[{\"port\":80.5},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].port value=80.5", check_one_port_80},
	{"port a string", SVC("\"spec\":{\"ports\":[{\"port\":\"80\"},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].port|reason=\"not a number\"", check_one_port_80},
	{"port missing", SVC("\"spec\":{\"ports\":[{\"name\":\"x\"},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].port|reason=\"missing port\"", check_one_port_80},
	{"unknown protocol",
	 SVC("\"spec\":{\"ports\":[{\"port\":81,\"protocol\":\"ICMP\"},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].protocol value=ICMP reason=\"unknown protocol\"", check_one_port_80},
	{"lower-case protocol",
	 SVC("\"spec\":{\"ports\":[{\"port\":81,\"protocol\":\"tcp\"},{\"port\":80}]}"), 0,
	 "field=spec.ports[0].protocol", check_one_port_80},
	{"port entry not an object", SVC("\"spec\":{\"ports\":[7,{\"port\":80}]}"), 0,
	 "field=spec.ports[0] value=7 reason=\"not an object\"", check_one_port_80},
	{"ports not an array", SVC("\"spec\":{\"ports\":{\"port\":80}}"), 0,
	 "field=spec.ports value=<object> reason=\"wrong type\"", check_no_ports},
	{"bad nodePort drops only the node port",
	 SVC("\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":-474380055}]}"),
	 0, "field=spec.ports[0].nodePort value=-474380055", check_no_node_port},
	{"missing name", "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\"}}", -EINVAL,
	 "msg=\"rejected object\" kind=Service svc=ns/ field=metadata.name value=absent "
	 "reason=\"missing name\"",
	 NULL},
	{"empty name", "{\"metadata\":{\"name\":\"\"}}", -EINVAL, "field=metadata.name", NULL},
	{"name not a string", "{\"metadata\":{\"name\":5}}", -EINVAL, "field=metadata.name value=5",
	 NULL},
	{"no metadata", "{\"spec\":{}}", -EINVAL, "svc=\"\" field=metadata value=absent reason=\"missing metadata\"",
	 NULL},
	{"not an object", "[1,2]", -EINVAL, "rejected object", NULL},
	{"unknown type", SVC("\"spec\":{\"type\":\"Magic\"}"), -EINVAL,
	 "msg=\"rejected object\" kind=Service svc=ns/web field=spec.type value=Magic", NULL},
	{"timeout too large",
	 SVC("\"spec\":{\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
	     "{\"clientIP\":{\"timeoutSeconds\":86401}}}"),
	 0, "field=spec.sessionAffinityConfig.clientIP.timeoutSeconds value=86401",
	 check_default_timeout},
	{"timeout zero",
	 SVC("\"spec\":{\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
	     "{\"clientIP\":{\"timeoutSeconds\":0}}}"),
	 0, "timeoutSeconds value=0", check_default_timeout},
	{"unknown sessionAffinity", SVC("\"spec\":{\"sessionAffinity\":\"Cookie\"}"), 0,
	 "field=spec.sessionAffinity value=Cookie", NULL},
	{"hostname-only LB ingress is skipped silently",
	 SVC("\"status\":{\"loadBalancer\":{\"ingress\":[{\"hostname\":\"x.elb.amazonaws.com\"}]}}"),
	 0, NULL, check_hostname_lb_skipped},
	{"bad LB ingress ip",
	 SVC("\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"32\",\"hostname\":\"33\"}]}}"), 0,
	 "field=status.loadBalancer.ingress[0].ip value=32", check_hostname_lb_skipped},
	{"bad external IP", SVC("\"spec\":{\"externalIPs\":[\"26\",\"192.0.2.1\"]}"), 0,
	 "field=spec.externalIPs[0] value=26 reason=\"invalid IP address\"",
	 check_one_external_ip},
	{"bad source range",
	 SVC("\"spec\":{\"loadBalancerSourceRanges\":[\"28\",\"10.1.0.0/16\"]}"), 0,
	 "field=spec.loadBalancerSourceRanges[0] value=28 reason=\"invalid CIDR\"",
	 check_one_range},
	{"unknown IP family", SVC("\"spec\":{\"ipFamilies\":[\"IPv5\",\"IPv4\"]}"), 0,
	 "field=spec.ipFamilies[0] value=IPv5", check_one_family},
	{"unknown traffic policy", SVC("\"spec\":{\"externalTrafficPolicy\":\"Global\"}"), 0,
	 "field=spec.externalTrafficPolicy value=Global", check_policy_cluster},
	{"bad healthCheckNodePort", SVC("\"spec\":{\"healthCheckNodePort\":-1965738697}"), 0,
	 "field=spec.healthCheckNodePort value=-1965738697", check_hcnp_zero},
	{"labels", "{\"metadata\":{\"name\":\"web\",\"labels\":{\"service.kubernetes.io/headless\":"
		   "\"\",\"service.kubernetes.io/service-proxy-name\":\"other\"}}}",
	 0, NULL, check_labels},
	{"spec not an object", SVC("\"spec\":[]"), 0, "field=spec value=<array> reason=\"wrong type\"",
	 check_headless},
	{"name with a space is quoted in the log",
	 "{\"metadata\":{\"name\":\"a b\"},\"spec\":{\"clusterIP\":\"x\"}}", 0,
	 "svc=\"default/a b\" field=spec.clusterIP", check_no_cluster_ip},
};

static void test_service_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(svc_cases) / sizeof(svc_cases[0]); i++) {
		const struct svc_case *c = &svc_cases[i];
		struct kube_service *svc = (struct kube_service *)0x1;
		struct capture cap;
		const char *log;
		cJSON *obj = cJSON_Parse(c->json);
		int r;

		if (!obj)
			fail_msg("case %s: test JSON does not parse", c->name);
		capture_start(&cap);
		r = kube_decode_service(obj, &svc);
		log = capture_end(&cap);
		cJSON_Delete(obj);
		if (r != c->rc)
			fail_msg("case %s: returned %d, want %d; log:\n%s", c->name, r, c->rc, log);
		check_log(c->name, log, c->log);
		check_one_line(c->name, log, c->log);
		if (r == 0) {
			if (c->check)
				c->check(c->name, svc);
			kube_service_free(svc);
		} else if (svc != (struct kube_service *)0x1) {
			fail_msg("case %s: ret_svc written on failure", c->name);
		}
		free(cap.buf);
	}
}

/* ---- EndpointSlices ---------------------------------------------------------------------- */

typedef void (*slice_check_fn)(const struct kube_endpoint_slice *slice);

struct slice_case {
	const char *name;
	const char *json;
	int rc;
	const char *log;
	slice_check_fn check;
};

static void check_slice_full(const struct kube_endpoint_slice *s)
{
	char b[NET_ADDR_STRLEN];

	assert_string_equal(s->meta.namespace, "ns");
	assert_string_equal(s->meta.name, "web-1");
	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 8080);
	assert_int_equal(s->ports[0].proto, KUBE_PROTO_TCP);
	assert_string_equal(s->ports[1].name, "");
	assert_int_equal(s->ports[1].proto, KUBE_PROTO_UDP);
	assert_int_equal(s->n_endpoints, 4);
	/* absent conditions: ready true, serving true, terminating false */
	assert_string_equal(addr_str(&s->endpoints[0].addr, b), "10.0.0.1");
	assert_true(s->endpoints[0].ready);
	assert_true(s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_string_equal(s->endpoints[0].node_name, "n1");
	assert_string_equal(s->endpoints[0].zone, "z1");
	assert_int_equal(s->endpoints[0].n_hint_zones, 2);
	assert_string_equal(s->endpoints[0].hint_zones[1], "z2");
	/* ready false, serving absent: serving true (kube-proxy's nil || true) */
	assert_false(s->endpoints[1].ready);
	assert_true(s->endpoints[1].serving);
	assert_false(s->endpoints[1].terminating);
	/* terminating, still serving */
	assert_false(s->endpoints[2].ready);
	assert_true(s->endpoints[2].serving);
	assert_true(s->endpoints[2].terminating);
	assert_null(s->endpoints[2].node_name);
	assert_null(s->endpoints[2].hint_zones);
	/* null ready counts as absent */
	assert_true(s->endpoints[3].ready);
	assert_int_equal(s->last_change_trigger_time_ns, 1714826096123456789LL);
}

static void check_one_endpoint(const struct kube_endpoint_slice *s)
{
	assert_int_equal(s->n_endpoints, 1);
}

static void check_v6_slice(const struct kube_endpoint_slice *s)
{
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->n_endpoints, 1);
	assert_int_equal(s->last_change_trigger_time_ns, 1714833296000000000LL);
}

static void check_one_slice_port(const struct kube_endpoint_slice *s)
{
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 53);
	assert_string_equal(s->ports[0].name, "dns");
}

static void check_no_service(const struct kube_endpoint_slice *s)
{
	assert_null(s->service_name);
	assert_int_equal(s->n_endpoints, 0);
	assert_null(s->endpoints);
	assert_int_equal(s->last_change_trigger_time_ns, 0);
}

#define SLICE(type, body)                                                                          \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"ns\","      \
	"\"labels\":{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"" type "\"," body "}"

static const struct slice_case slice_cases[] = {
	{"full",
	 "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"ns\","
	 "\"labels\":{\"kubernetes.io/service-name\":\"web\"},\"annotations\":{"
	 "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2024-05-04T12:34:56.123456789Z\"}},"
	 "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},"
	 "{\"port\":53,\"protocol\":\"UDP\"}],\"endpoints\":["
	 "{\"addresses\":[\"10.0.0.1\",\"10.0.0.9\"],\"nodeName\":\"n1\",\"zone\":\"z1\","
	 "\"hints\":{\"forZones\":[{\"name\":\"z1\"},{\"name\":\"z2\"}]}},"
	 "{\"addresses\":[\"10.0.0.2\"],\"conditions\":{\"ready\":false}},"
	 "{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":false,\"serving\":true,"
	 "\"terminating\":true}},"
	 "{\"addresses\":[\"10.0.0.4\"],\"conditions\":{\"ready\":null}}]}",
	 0, NULL, check_slice_full},
	{"FQDN is ignored", SLICE("FQDN", "\"endpoints\":[]"), -EOPNOTSUPP,
	 "level=info component=kube msg=\"ignored object\" kind=EndpointSlice slice=ns/web-1 "
	 "field=addressType value=FQDN",
	 NULL},
	{"unknown addressType", SLICE("IPX", "\"endpoints\":[]"), -EINVAL,
	 "msg=\"rejected object\" kind=EndpointSlice slice=ns/web-1 field=addressType value=IPX",
	 NULL},
	{"missing addressType",
	 "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"},\"endpoints\":[]}", -EINVAL,
	 "field=addressType value=absent", NULL},
	{"missing name", "{\"metadata\":{},\"addressType\":\"IPv4\"}", -EINVAL,
	 "kind=EndpointSlice slice=default/ field=metadata.name", NULL},
	{"bad address drops the endpoint",
	 SLICE("IPv4", "\"endpoints\":[{\"addresses\":[\"20\"]},{\"addresses\":[\"10.0.0.1\"]}]"),
	 0,
	 "msg=\"dropped field\" kind=EndpointSlice slice=ns/web-1 field=endpoints[0].addresses[0] "
	 "value=20 reason=\"invalid IP address\"",
	 check_one_endpoint},
	{"missing addresses drops the endpoint",
	 SLICE("IPv4", "\"endpoints\":[{\"nodeName\":\"x\"},{\"addresses\":[\"10.0.0.1\"]}]"), 0,
	 "field=endpoints[0].addresses[0] value=absent reason=\"endpoint has no address\"",
	 check_one_endpoint},
	{"empty addresses drops the endpoint",
	 SLICE("IPv4", "\"endpoints\":[{\"addresses\":[]},{\"addresses\":[\"10.0.0.1\"]}]"), 0,
	 "field=endpoints[0].addresses[0]", check_one_endpoint},
	{"family mismatch drops the endpoint",
	 SLICE("IPv4", "\"endpoints\":[{\"addresses\":[\"fd00::1\"]},{\"addresses\":[\"10.0.0.1\"]}]"),
	 0, "field=endpoints[0].addresses[0] value=fd00::1 reason=\"address family differs",
	 check_one_endpoint},
	{"IPv6 slice",
	 "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"annotations\":{"
	 "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2024-05-04T16:34:56+02:00\"}},"
	 "\"addressType\":\"IPv6\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]},"
	 "{\"addresses\":[\"fd00::1\"]}]}",
	 0, "field=endpoints[0].addresses[0] value=10.0.0.1", check_v6_slice},
	{"null port (all ports) is dropped",
	 SLICE("IPv4", "\"ports\":[{\"name\":\"all\",\"port\":null},{\"name\":\"dns\",\"port\":53,"
		       "\"protocol\":\"UDP\"}]"),
	 0, "field=ports[0].port value=null", check_one_slice_port},
	{"slice port out of range",
	 SLICE("IPv4", "\"ports\":[{\"port\":-591435092},{\"name\":\"dns\",\"port\":53}]"), 0,
	 "field=ports[0].port value=-591435092 reason=\"port out of range\"", check_one_slice_port},
	{"slice port unknown protocol",
	 SLICE("IPv4", "\"ports\":[{\"port\":1,\"protocol\":\"ěĂ凗\"},{\"name\":\"dns\",\"port\":53}]"),
	 0, "field=ports[0].protocol", check_one_slice_port},
	{"condition not a bool",
	 SLICE("IPv4", "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":"
		       "\"yes\"}}]"),
	 0, "field=endpoints[0].conditions.ready value=yes reason=\"not a boolean\"",
	 check_one_endpoint},
	{"no label, bad trigger time",
	 "{\"metadata\":{\"name\":\"s\",\"annotations\":{"
	 "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2404-01-10T11:35:42Z\"}},"
	 "\"addressType\":\"IPv4\"}",
	 0, NULL, check_no_service},
};

static void test_slice_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(slice_cases) / sizeof(slice_cases[0]); i++) {
		const struct slice_case *c = &slice_cases[i];
		struct kube_endpoint_slice *slice = NULL;
		struct capture cap;
		const char *log;
		cJSON *obj = cJSON_Parse(c->json);
		int r;

		if (!obj)
			fail_msg("case %s: test JSON does not parse", c->name);
		capture_start(&cap);
		r = kube_decode_endpoint_slice(obj, &slice);
		log = capture_end(&cap);
		cJSON_Delete(obj);
		if (r != c->rc)
			fail_msg("case %s: returned %d, want %d; log:\n%s", c->name, r, c->rc, log);
		check_log(c->name, log, c->log);
		check_one_line(c->name, log, c->log);
		if (r == 0) {
			if (c->check)
				c->check(slice);
			kube_endpoint_slice_free(slice);
		} else if (slice) {
			fail_msg("case %s: ret_slice written on failure", c->name);
		}
		free(cap.buf);
	}
}

/* ---- Nodes ------------------------------------------------------------------------------- */

static void test_node(void **state)
{
	static const char *json =
		"{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"namespace\":\"ignored\","
		"\"deletionTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{"
		"\"topology.kubernetes.io/zone\":\"z9\"}},\"spec\":{\"taints\":[{\"key\":\"other\"},"
		"{\"key\":\"ToBeDeletedByClusterAutoscaler\",\"effect\":\"NoSchedule\"}]},"
		"\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},"
		"{\"type\":\"InternalIP\",\"address\":\"192.168.1.2\"},"
		"{\"type\":\"InternalIP\",\"address\":\"bad\"},"
		"{\"type\":\"InternalIP\",\"address\":\"fd00::2\"},"
		"{\"type\":\"ExternalIP\",\"address\":\"203.0.113.9\"}]}}";
	struct kube_node *node = NULL;
	char b[NET_ADDR_STRLEN];
	struct capture cap;
	const char *log;
	cJSON *obj = cJSON_Parse(json);

	(void)state;
	capture_start(&cap);
	assert_int_equal(kube_decode_node(obj, &node), 0);
	log = capture_end(&cap);
	check_log("node", log,
		  "kind=Node node=n1 field=status.addresses[2].address value=bad "
		  "reason=\"invalid IP address\"");
	assert_string_equal(node->meta.namespace, "");
	assert_string_equal(node->zone, "z9");
	assert_true(node->deleting);
	assert_true(node->to_be_deleted);
	assert_int_equal(node->n_internal_ips, 2);
	assert_string_equal(addr_str(&node->internal_ips[1], b), "fd00::2");
	assert_int_equal(node->n_external_ips, 1);
	kube_node_free(node);
	free(cap.buf);
	cJSON_Delete(obj);

	obj = cJSON_Parse("{\"metadata\":{\"name\":\"n2\"}}");
	assert_int_equal(kube_decode_node(obj, &node), 0);
	assert_false(node->deleting);
	assert_false(node->to_be_deleted);
	assert_null(node->internal_ips);
	assert_null(node->zone);
	kube_node_free(node);
	cJSON_Delete(obj);

	obj = cJSON_Parse("{\"metadata\":{\"labels\":{}}}");
	node = NULL;
	capture_start(&cap);
	assert_int_equal(kube_decode_node(obj, &node), -EINVAL);
	log = capture_end(&cap);
	check_log("node without name", log, "kind=Node node=\"\" field=metadata.name value=absent");
	assert_null(node);
	free(cap.buf);
	cJSON_Delete(obj);
}

/* ---- The Kubernetes project's fuzzed API test data ---------------------------------------- */

static cJSON *load_fixture(const char *rel)
{
	const char *dir = getenv("KIPVS_FIXTURES");
	char path[4096];
	FILE *f;
	char *buf;
	long len;
	cJSON *obj;

	if (!dir)
		fail_msg("KIPVS_FIXTURES is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	obj = cJSON_Parse(buf);
	free(buf);
	if (!obj)
		fail_msg("%s does not parse", path);
	return obj;
}

static void test_fuzzed_service(void **state)
{
	cJSON *obj = load_fixture("k8s-api-testdata/core.v1.Service.json");
	struct kube_service *svc = NULL;
	struct kube_object o;
	struct capture cap;
	const char *log;

	(void)state;
	/* As published: the type is garbage, so the whole object is rejected. */
	capture_start(&cap);
	assert_int_equal(kube_decode_object(obj, NULL, &o), -EINVAL);
	log = capture_end(&cap);
	check_log("fuzzed Service", log, "msg=\"rejected object\" kind=Service svc=4/2 field=spec.type");
	free(cap.buf);

	/* With a valid type every other bad field is dropped, one line each, and it decodes. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(obj, "spec"), "type",
				  cJSON_CreateString("ClusterIP"));
	capture_start(&cap);
	assert_int_equal(kube_decode_service(obj, &svc), 0);
	log = capture_end(&cap);
	check_log("fuzzed Service, type fixed", log,
		  "field=spec.clusterIPs[0] value=25|field=spec.ipFamilies[0]|"
		  "field=spec.ports[0].protocol|field=spec.externalIPs[0] value=26|"
		  "field=spec.loadBalancerSourceRanges[0] value=28|"
		  "field=spec.sessionAffinity|field=spec.externalTrafficPolicy|"
		  "field=spec.sessionAffinityConfig.clientIP.timeoutSeconds value=2072604405|"
		  "field=spec.healthCheckNodePort value=-1965738697|"
		  "field=status.loadBalancer.ingress[0].ip value=32");
	assert_string_equal(svc->meta.name, "2");
	assert_string_equal(svc->meta.namespace, "4");
	assert_int_equal(svc->n_ports, 0);
	assert_int_equal(svc->n_cluster_ips, 0);
	assert_int_equal(svc->n_ip_families, 0);
	assert_int_equal(svc->n_external_ips, 0);
	assert_int_equal(svc->n_lb_ingress, 0);
	assert_int_equal(svc->n_lb_source_ranges, 0);
	assert_false(svc->affinity_client_ip);
	assert_int_equal(svc->affinity_timeout, KUBE_AFFINITY_TIMEOUT_DEFAULT);
	assert_int_equal(svc->health_check_node_port, 0);
	/* internalTrafficPolicy "" is not a known value either. */
	assert_int_equal(svc->internal_policy, KUBE_POLICY_CLUSTER);
	kube_service_free(svc);
	free(cap.buf);
	cJSON_Delete(obj);
}

static void test_fuzzed_slice(void **state)
{
	cJSON *obj = load_fixture("k8s-api-testdata/discovery.k8s.io.v1.EndpointSlice.json");
	struct kube_endpoint_slice *slice = NULL;
	struct capture cap;
	const char *log;

	(void)state;
	capture_start(&cap);
	assert_int_equal(kube_decode_endpoint_slice(obj, &slice), -EINVAL);
	log = capture_end(&cap);
	check_log("fuzzed EndpointSlice", log,
		  "msg=\"rejected object\" kind=EndpointSlice slice=4/2 field=addressType");
	free(cap.buf);

	cJSON_ReplaceItemInObject(obj, "addressType", cJSON_CreateString("IPv4"));
	capture_start(&cap);
	assert_int_equal(kube_decode_endpoint_slice(obj, &slice), 0);
	log = capture_end(&cap);
	check_log("fuzzed EndpointSlice, addressType fixed", log,
		  "field=endpoints[0].addresses[0] value=20|field=ports[0].protocol");
	assert_int_equal(slice->n_endpoints, 0);
	assert_int_equal(slice->n_ports, 0);
	assert_null(slice->service_name);
	kube_endpoint_slice_free(slice);
	free(cap.buf);
	cJSON_Delete(obj);
}

/* What every decoded object promises: counts match pointers, ports are valid. */
static void check_invariants(const struct kube_object *o)
{
	if (o->kind == KUBE_KIND_SERVICE) {
		const struct kube_service *s = o->svc;

		assert_true((s->n_ports == 0) == (s->ports == NULL));
		assert_true((s->n_cluster_ips == 0) == (s->cluster_ips == NULL));
		assert_true((s->n_external_ips == 0) == (s->external_ips == NULL));
		assert_true((s->n_lb_ingress == 0) == (s->lb_ingress == NULL));
		assert_true((s->n_lb_source_ranges == 0) == (s->lb_source_ranges == NULL));
		assert_true(s->n_ip_families <= 2);
		for (size_t i = 0; i < s->n_ports; i++)
			assert_true(s->ports[i].port > 0 && s->ports[i].name);
		assert_true(s->affinity_timeout >= 1 && s->affinity_timeout <= 86400);
		assert_non_null(s->meta.name);
		assert_non_null(s->meta.namespace);
	}
}

/* Every member of the fuzzed objects replaced by values of every JSON type: no crash. */
static void test_fuzzed_mutations(void **state)
{
	static const char *const files[] = {"k8s-api-testdata/core.v1.Service.json",
					    "k8s-api-testdata/discovery.k8s.io.v1.EndpointSlice.json"};
	static const char *const sections[] = {NULL, "metadata", "spec", "status"};
	static const char *const values[] = {"null", "1e308", "-1", "\"\"", "[]", "{}", "[null]",
					     "[{}]", "true", "\"None\"", "[\"10.0.0.1\"]"};
	FILE *devnull = fopen("/dev/null", "we");
	size_t decoded = 0;

	(void)state;
	log_set_stream(devnull);
	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		cJSON *obj = load_fixture(files[f]);

		for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
			const cJSON *sec = sections[s] ? cJSON_GetObjectItem(obj, sections[s]) : obj;
			const cJSON *m;

			cJSON_ArrayForEach(m, sec)
			{
				for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
					cJSON *copy = cJSON_Duplicate(obj, 1);
					cJSON *target = sections[s]
								? cJSON_GetObjectItem(copy, sections[s])
								: copy;
					struct kube_object o;

					cJSON_ReplaceItemInObject(target, m->string,
								  cJSON_Parse(values[v]));
					if (kube_decode_object(copy, f ? "EndpointSlice" : "Service",
							       &o) == 0) {
						check_invariants(&o);
						decoded++;
						kube_object_clear(&o);
					}
					cJSON_Delete(copy);
				}
			}
		}
		cJSON_Delete(obj);
	}
	log_set_stream(NULL);
	fclose(devnull);
	/*
	 * Only the Service's fatal field can be repaired this way: spec.type null (absent means
	 * ClusterIP), or spec itself replaced by any of the 11 values (no spec, so no type).
	 * Every other copy keeps the fuzzed type or addressType and must be rejected.
	 */
	assert_int_equal(decoded, 12);
}

/* ---- Lists and documents ----------------------------------------------------------------- */

static int count_kinds(struct kube_object *obj, void *userdata)
{
	int *counts = userdata;

	counts[obj->kind]++;
	kube_object_clear(obj);
	return 0;
}

static void test_documents(void **state)
{
	static const struct {
		const char *name;
		const char *json;
		int rc;
		int svcs, slices, nodes;
	} cases[] = {
		{"kubectl List",
		 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}},"
		 "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-1\"},\"addressType\":\"IPv4\"},"
		 "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}},"
		 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}},"
		 "{\"kind\":\"Service\",\"metadata\":{}}]}",
		 3, 1, 1, 1},
		{"API list without item kinds",
		 "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":{\"name\":\"a\"}},"
		 "{\"metadata\":{\"name\":\"b\"}}]}",
		 2, 2, 0, 0},
		{"EndpointSliceList",
		 "{\"kind\":\"EndpointSliceList\",\"items\":[{\"metadata\":{\"name\":\"a\"},"
		 "\"addressType\":\"IPv6\"},{\"metadata\":{\"name\":\"b\"},\"addressType\":\"FQDN\"}]}",
		 1, 0, 1, 0},
		{"list of other things", "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"p\"}}]}",
		 0, 0, 0, 0},
		{"empty List", "{\"kind\":\"List\",\"items\":[]}", 0, 0, 0, 0},
		{"List with null items", "{\"kind\":\"List\",\"items\":null}", 0, 0, 0, 0},
		{"List with bad items", "{\"kind\":\"List\",\"items\":5}", -EBADMSG, 0, 0, 0},
		{"single object", "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}}", 1, 0, 0, 1},
		{"single object of another kind", "{\"kind\":\"ConfigMap\",\"metadata\":{}}", 0, 0, 0,
		 0},
		{"no kind", "{\"metadata\":{\"name\":\"n\"}}", 0, 0, 0, 0},
		{"not an object", "\"text\"", -EBADMSG, 0, 0, 0},
		{"null document", "null", 0, 0, 0, 0},
	};
	FILE *devnull = fopen("/dev/null", "we");

	(void)state;
	log_set_stream(devnull);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int counts[_KUBE_KIND_MAX] = {0};
		cJSON *doc = cJSON_Parse(cases[i].json);
		int r;

		if (!doc)
			fail_msg("case %s: test JSON does not parse", cases[i].name);
		r = kube_decode_document(doc, "test", count_kinds, counts);
		cJSON_Delete(doc);
		if (r != cases[i].rc || counts[KUBE_KIND_SERVICE] != cases[i].svcs ||
		    counts[KUBE_KIND_ENDPOINT_SLICE] != cases[i].slices ||
		    counts[KUBE_KIND_NODE] != cases[i].nodes)
			fail_msg("case %s: returned %d (%d svc, %d slices, %d nodes)", cases[i].name,
				 r, counts[0], counts[1], counts[2]);
	}
	log_set_stream(NULL);
	fclose(devnull);
}

static void test_kind_from_string(void **state)
{
	static const struct {
		const char *text;
		int rc;
		enum kube_kind kind;
	} cases[] = {
		{"Service", 0, KUBE_KIND_SERVICE},
		{"ServiceList", 0, KUBE_KIND_SERVICE},
		{"EndpointSlice", 0, KUBE_KIND_ENDPOINT_SLICE},
		{"EndpointSliceList", 0, KUBE_KIND_ENDPOINT_SLICE},
		{"Node", 0, KUBE_KIND_NODE},
		{"NodeList", 0, KUBE_KIND_NODE},
		{"Services", -ENOENT, 0},
		{"service", -ENOENT, 0},
		{"List", -ENOENT, 0},
		{"", -ENOENT, 0},
		{NULL, -ENOENT, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum kube_kind k = _KUBE_KIND_MAX;
		int r = kube_kind_from_string(cases[i].text, &k);

		if (r != cases[i].rc || (r == 0 && k != cases[i].kind))
			fail_msg("case %s: %d, kind %d", cases[i].text ? cases[i].text : "NULL", r,
				 k);
	}
}

static void test_is_proxied(void **state)
{
	static const struct {
		const char *name;
		const char *label_proxy;
		bool label_headless;
		const char *configured;
		bool want;
	} cases[] = {
		{"plain, not configured", NULL, false, NULL, true},
		{"plain, configured", NULL, false, "kipvs", true},
		{"other proxy, not configured", "other", false, NULL, false},
		{"other proxy, configured", "other", false, "kipvs", false},
		{"our proxy", "kipvs", false, "kipvs", true},
		{"headless label", NULL, true, NULL, false},
		{"headless label, our proxy", "kipvs", true, "kipvs", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_service svc = {
			.service_proxy_name = (char *)cases[i].label_proxy,
			.label_headless = cases[i].label_headless,
		};

		if (kube_service_is_proxied(&svc, cases[i].configured) != cases[i].want)
			fail_msg("case %s: wrong answer", cases[i].name);
	}
}

/* ---- YAML -------------------------------------------------------------------------------- */

static void test_yaml_scalars(void **state)
{
	static const struct {
		const char *yaml;
		const char *json; /* the first document, printed unformatted */
	} cases[] = {
		{"a: 80", "{\"a\":80}"},
		{"a: \"80\"", "{\"a\":\"80\"}"},
		{"a: '80'", "{\"a\":\"80\"}"},
		{"a: -12", "{\"a\":-12}"},
		{"a: 0x1F", "{\"a\":31}"},
		{"a: 010", "{\"a\":8}"},
		{"a: 1.5", "{\"a\":1.5}"},
		{"a: 1e3", "{\"a\":1000}"},
		{"a: true", "{\"a\":true}"},
		{"a: False", "{\"a\":false}"},
		{"a: yes", "{\"a\":true}"},
		{"a: off", "{\"a\":false}"},
		{"a: \"true\"", "{\"a\":\"true\"}"},
		{"a: ~", "{\"a\":null}"},
		{"a: null", "{\"a\":null}"},
		{"a:", "{\"a\":null}"},
		{"a: None", "{\"a\":\"None\"}"},
		{"a: 10.96.0.1", "{\"a\":\"10.96.0.1\"}"},
		{"a: fd00::1", "{\"a\":\"fd00::1\"}"},
		{"a: 1_000", "{\"a\":\"1_000\"}"},
		{"a: [1, \"2\", x]", "{\"a\":[1,\"2\",\"x\"]}"},
		{"a: !!str 5x", "{\"a\":\"5x\"}"},
		{"a: &x {b: 1}\nc: *x", "{\"a\":{\"b\":1},\"c\":{\"b\":1}}"},
		{"{\"kind\": \"List\", \"items\": []}", "{\"kind\":\"List\",\"items\":[]}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *docs = NULL;
		char err[128];
		char *out;
		int r = kube_yaml_parse(cases[i].yaml, strlen(cases[i].yaml), &docs, err,
					sizeof(err));

		if (r < 0)
			fail_msg("case %s: %d %s", cases[i].yaml, r, err);
		out = cJSON_PrintUnformatted(cJSON_GetArrayItem(docs, 0));
		if (strcmp(out, cases[i].json) != 0)
			fail_msg("case %s: got %s, want %s", cases[i].yaml, out, cases[i].json);
		free(out);
		cJSON_Delete(docs);
	}
}

/* What kube_yaml_each() handed on: documents and items, as compact JSON, " ; "-separated. */
struct yaml_each_seen {
	char text[512];
	int docs, items;
};

static void yaml_each_note(struct yaml_each_seen *seen, const char *what, cJSON *tree)
{
	char *json = cJSON_PrintUnformatted(tree);
	size_t n = strlen(seen->text);

	assert_non_null(json);
	snprintf(seen->text + n, sizeof(seen->text) - n, "%s%s %s", n ? " ; " : "", what, json);
	free(json);
	cJSON_Delete(tree);
}

static int yaml_each_doc(cJSON *doc, void *userdata)
{
	struct yaml_each_seen *seen = userdata;

	seen->docs++;
	yaml_each_note(seen, "doc", doc);
	return 0;
}

static int yaml_each_item(cJSON *item, void *userdata)
{
	struct yaml_each_seen *seen = userdata;

	seen->items++;
	yaml_each_note(seen, "item", item);
	return 0;
}

static bool yaml_each_stream(const char *kind, void *userdata)
{
	return strcmp(kind, "List") == 0;
}

/* A list's items are handed on one by one, and only when its kind says it is a list. */
static void test_yaml_each_items(void **state)
{
	static const struct kube_yaml_each_ops ops = {
	    .doc_fn = yaml_each_doc,
	    .stream_fn = yaml_each_stream,
	    .item_fn = yaml_each_item,
	};
	static const struct {
		const char *name;
		const char *yaml;
		const char *want;
	} cases[] = {
		{"kind after items", "items:\n- {a: 1}\n- [x, *y]\nkind: List\n",
		 NULL /* an undefined alias: fails */},
		{"a list", "items:\n- {a: 1}\n- &y [x]\n- *y\nkind: List\n",
		 "item {\"a\":1} ; item [\"x\"] ; item [\"x\"]"},
		{"not a list kind", "kind: Service\nitems: [1, 2]\n",
		 "doc {\"kind\":\"Service\",\"items\":[1,2]}"},
		{"items not a sequence", "kind: List\nitems: {a: 1}\n",
		 "doc {\"kind\":\"List\",\"items\":{\"a\":1}}"},
		{"items anchored", "kind: List\nitems: &i [1]\nmore: *i\n",
		 "doc {\"kind\":\"List\",\"items\":[1],\"more\":[1]}"},
		{"only the first items", "kind: List\nitems: [1]\nitems: [2]\n", "item 1"},
		{"nested items stay", "kind: List\nitems: [{items: [3]}]\n", "item {\"items\":[3]}"},
		{"quoted kind", "\"kind\": 'List'\nitems: [1]\n", "item 1"},
		{"kind not a string", "kind: [List]\nitems: [1]\n",
		 "doc {\"kind\":[\"List\"],\"items\":[1]}"},
		{"per document", "kind: List\nitems: [1]\n---\nitems: [2]\n",
		 "item 1 ; doc {\"items\":[2]}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct yaml_each_seen seen = {0};
		char err[128];
		int r = kube_yaml_each(cases[i].yaml, strlen(cases[i].yaml), &ops, &seen, err,
				       sizeof(err));

		if (!cases[i].want) {
			if (r != -EBADMSG)
				fail_msg("case %s: returned %d, want -EBADMSG", cases[i].name, r);
			continue;
		}
		if (r != 0)
			fail_msg("case %s: returned %d (%s)", cases[i].name, r, err);
		if (strcmp(seen.text, cases[i].want) != 0)
			fail_msg("case %s: got '%s', want '%s'", cases[i].name, seen.text,
				 cases[i].want);
	}
}

static void test_yaml_streams(void **state)
{
	static const struct {
		const char *name;
		const char *yaml;
		int rc;
		int n_docs;
	} cases[] = {
		{"three documents", "a: 1\n---\nb: 2\n---\nc: 3\n", 0, 3},
		{"leading separator and trailing empty", "---\na: 1\n---\n", 0, 2},
		{"empty stream", "", 0, 0},
		{"comment only", "# nothing\n", 0, 0},
		{"bad indentation", "a:\n  b: 1\n c: 2\n", -EBADMSG, 0},
		{"unclosed flow", "a: [1, 2\n", -EBADMSG, 0},
		{"tab indentation", "a:\n\tb: 1\n", -EBADMSG, 0},
		{"complex key", "? [a]\n: 1\n", -EBADMSG, 0},
		{"recursive alias", "a: &x [*x]\n", -EBADMSG, 0},
		{"billion laughs",
		 "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		 "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n",
		 -EBADMSG, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *docs = NULL;
		char err[128] = "";
		int r = kube_yaml_parse(cases[i].yaml, strlen(cases[i].yaml), &docs, err,
					sizeof(err));

		if (r != cases[i].rc)
			fail_msg("case %s: returned %d (%s), want %d", cases[i].name, r, err,
				 cases[i].rc);
		if (r < 0) {
			if (!err[0])
				fail_msg("case %s: no error text", cases[i].name);
			continue;
		}
		if (cJSON_GetArraySize(docs) != cases[i].n_docs)
			fail_msg("case %s: %d documents, want %d", cases[i].name,
				 cJSON_GetArraySize(docs), cases[i].n_docs);
		cJSON_Delete(docs);
	}
}

/* A YAML Service decodes to the same model as its JSON twin. */
static void test_yaml_service_decodes(void **state)
{
	static const char *yaml = "apiVersion: v1\n"
				  "kind: Service\n"
				  "metadata:\n"
				  "  name: web\n"
				  "  namespace: shop\n"
				  "spec:\n"
				  "  clusterIP: 10.96.1.1\n"
				  "  ports:\n"
				  "  - name: http\n"
				  "    port: 80\n"
				  "  - name: quoted\n"
				  "    port: \"81\"\n";
	struct kube_service *svc = NULL;
	cJSON *docs = NULL;
	struct capture cap;
	const char *log;
	char err[128];

	(void)state;
	assert_int_equal(kube_yaml_parse(yaml, strlen(yaml), &docs, err, sizeof(err)), 0);
	capture_start(&cap);
	assert_int_equal(kube_decode_service(cJSON_GetArrayItem(docs, 0), &svc), 0);
	log = capture_end(&cap);
	check_log("yaml", log, "svc=shop/web field=spec.ports[1].port value=81 reason=\"not a number\"");
	assert_int_equal(svc->n_ports, 1);
	assert_int_equal(svc->ports[0].port, 80);
	kube_service_free(svc);
	cJSON_Delete(docs);
	free(cap.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_cases),
		cmocka_unit_test(test_slice_cases),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_fuzzed_service),
		cmocka_unit_test(test_fuzzed_slice),
		cmocka_unit_test(test_fuzzed_mutations),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_kind_from_string),
		cmocka_unit_test(test_is_proxied),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_yaml_streams),
		cmocka_unit_test(test_yaml_each_items),
		cmocka_unit_test(test_yaml_service_decodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
