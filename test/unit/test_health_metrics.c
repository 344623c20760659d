/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for health/health_metrics.c and health_stats.c: the Prometheus text rendering,
 * byte for byte, and the families kipvs registers (kube-proxy's names, kipvs's own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "health_internal.h"

/* Renders reg into a malloc'd string. */
static char *render(const struct health_metrics *reg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(health_metrics_render(reg, out), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void test_format_value(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
	    {0, "0"},
	    {1, "1"},
	    {-2, "-2"},
	    {3, "3"},
	    {1795312729, "1795312729"},
	    {0.001, "0.001"},
	    {16.384, "16.384"},
	    {0.25, "0.25"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1e-7, "1e-07"},
	    {1e20, "1e+20"},
	    {1795312729.5, "1795312729.5"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(health_metrics_format_value(cases[i].v, buf, sizeof(buf)),
			   cases[i].want) != 0)
			fail_msg("case %zu (%s): got '%s'", i, cases[i].want, buf);
	assert_string_equal(health_metrics_format_value(NAN, buf, sizeof(buf)), "NaN");
	assert_string_equal(health_metrics_format_value(INFINITY, buf, sizeof(buf)), "+Inf");
	assert_string_equal(health_metrics_format_value(-INFINITY, buf, sizeof(buf)), "-Inf");
}

static void test_render_exact(void **state)
{
	static const char *const two[] = {"svc", "kind", NULL};
	static const char *const one[] = {"op", NULL};
	static const double buckets[] = {0.1, 1, 2.5};
	struct health_metrics *reg = health_metrics_new();
	struct health_metric *ctr, *gauge, *hist, *lhist, *empty, *u;
	const char *web_a[] = {"default/web", "a"};
	const char *web_b[] = {"default/web", "b"};
	const char *esc[] = {"x\"y\\z\nw", "a"};
	const char *add[] = {"add"};
	char *text;

	(void)state;
	assert_non_null(reg);
	ctr = health_metrics_add(reg, "t_requests_total", "Requests \\ served\nsecond line",
				 HEALTH_METRIC_COUNTER, NULL, NULL, 0);
	gauge = health_metrics_add(reg, "t_things", "Things by svc and kind", HEALTH_METRIC_GAUGE,
				   two, NULL, 0);
	empty = health_metrics_add(reg, "t_empty", "Never set", HEALTH_METRIC_GAUGE, one, NULL, 0);
	hist = health_metrics_add(reg, "t_seconds", "A histogram", HEALTH_METRIC_HISTOGRAM, NULL,
				  buckets, 3);
	lhist = health_metrics_add(reg, "t_op_seconds", "Per op", HEALTH_METRIC_HISTOGRAM, one,
				   buckets, 1);
	u = health_metrics_add(reg, "t_bytes_total", "Big", HEALTH_METRIC_COUNTER, NULL, NULL, 0);
	assert_true(ctr && gauge && empty && hist && lhist && u);

	assert_int_equal(health_metric_add(ctr, NULL, 2), 0);
	assert_int_equal(health_metric_add(ctr, NULL, 1), 0);
	/* Insertion order must not matter: series come out sorted by label values. */
	assert_int_equal(health_metric_set(gauge, web_b, 2.5), 0);
	assert_int_equal(health_metric_set(gauge, esc, -1), 0);
	assert_int_equal(health_metric_set(gauge, web_a, 7), 0);
	assert_int_equal(health_metric_observe(hist, NULL, 0.25), 0);
	assert_int_equal(health_metric_observe(hist, NULL, 0.5), 0);
	assert_int_equal(health_metric_observe(hist, NULL, 3), 0);
	assert_int_equal(health_metric_observe(lhist, add, 0.1), 0);
	assert_int_equal(health_metric_set_u64(u, NULL, UINT64_MAX), 0);
	/* Operations that do not fit the type. */
	assert_int_equal(health_metric_observe(ctr, NULL, 1), -EINVAL);
	assert_int_equal(health_metric_set(hist, NULL, 1), -EINVAL);
	assert_int_equal(health_metric_add(hist, NULL, 1), -EINVAL);

	text = render(reg);
	assert_string_equal(text, "# HELP t_requests_total Requests \\\\ served\\nsecond line\n"
				  "# TYPE t_requests_total counter\n"
				  "t_requests_total 3\n"
				  "# HELP t_things Things by svc and kind\n"
				  "# TYPE t_things gauge\n"
				  "t_things{svc=\"default/web\",kind=\"a\"} 7\n"
				  "t_things{svc=\"default/web\",kind=\"b\"} 2.5\n"
				  "t_things{svc=\"x\\\"y\\\\z\\nw\",kind=\"a\"} -1\n"
				  "# HELP t_seconds A histogram\n"
				  "# TYPE t_seconds histogram\n"
				  "t_seconds_bucket{le=\"0.1\"} 0\n"
				  "t_seconds_bucket{le=\"1\"} 2\n"
				  "t_seconds_bucket{le=\"2.5\"} 2\n"
				  "t_seconds_bucket{le=\"+Inf\"} 3\n"
				  "t_seconds_sum 3.75\n"
				  "t_seconds_count 3\n"
				  "# HELP t_op_seconds Per op\n"
				  "# TYPE t_op_seconds histogram\n"
				  "t_op_seconds_bucket{op=\"add\",le=\"0.1\"} 1\n"
				  "t_op_seconds_bucket{op=\"add\",le=\"+Inf\"} 1\n"
				  "t_op_seconds_sum{op=\"add\"} 0.1\n"
				  "t_op_seconds_count{op=\"add\"} 1\n"
				  "# HELP t_bytes_total Big\n"
				  "# TYPE t_bytes_total counter\n"
				  "t_bytes_total 18446744073709551615\n");
	free(text);

	/* Clearing drops a labelled family's series, and resets an unlabelled one. */
	health_metric_clear(gauge);
	health_metric_clear(hist);
	health_metric_clear(ctr);
	health_metric_clear(lhist);
	health_metric_clear(u);
	text = render(reg);
	assert_string_equal(text, "# HELP t_requests_total Requests \\\\ served\\nsecond line\n"
				  "# TYPE t_requests_total counter\n"
				  "t_requests_total 0\n"
				  "# HELP t_seconds A histogram\n"
				  "# TYPE t_seconds histogram\n"
				  "t_seconds_bucket{le=\"0.1\"} 0\n"
				  "t_seconds_bucket{le=\"1\"} 0\n"
				  "t_seconds_bucket{le=\"2.5\"} 0\n"
				  "t_seconds_bucket{le=\"+Inf\"} 0\n"
				  "t_seconds_sum 0\n"
				  "t_seconds_count 0\n"
				  "# HELP t_bytes_total Big\n"
				  "# TYPE t_bytes_total counter\n"
				  "t_bytes_total 0\n");
	free(text);
	health_metrics_free(reg);
	assert_null(health_metrics_free(NULL));
}

/* The whole health registry after a few pushes: the lines a dashboard would query. */
static void test_health_families(void **state)
{
	struct health_config cfg = {
	    .healthz_bind = "off", .metrics_bind = "off", .sync_period_ns = 30000000000LL};
	struct health *h = NULL;
	struct health_vs_stats st[2] = {
	    {.svc_namespace = "kube-system",
	     .svc_name = "kube-dns",
	     .port_name = "dns",
	     .proto = KUBE_PROTO_UDP,
	     .port = 53,
	     .conns = 5,
	     .inpkts = 10,
	     .outpkts = 9,
	     .inbytes = 1000,
	     .outbytes = 5000000000ULL},
	    {.svc_namespace = "default",
	     .svc_name = "web",
	     .port_name = "",
	     .proto = KUBE_PROTO_TCP,
	     .port = 80,
	     .conns = 1},
	};
	static const char *const want[] = {
	    "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.001\"} 0\n",
	    "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.256\"} 1\n",
	    "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"16.384\"} 1\n",
	    "kubeproxy_sync_proxy_rules_duration_seconds_count 1\n",
	    "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1795312729.25\n",
	    "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds 1795312729\n",
	    "kubeproxy_network_programming_duration_seconds_bucket{le=\"2\"} 0\n",
	    "kubeproxy_network_programming_duration_seconds_bucket{le=\"3\"} 1\n",
	    "kubeproxy_network_programming_duration_seconds_bucket{le=\"300\"} 1\n",
	    "kubeproxy_network_programming_duration_seconds_count 1\n",
	    "kubeproxy_sync_proxy_rules_service_changes_total 1\n",
	    "kubeproxy_sync_proxy_rules_endpoint_changes_total 2\n",
	    "kubeproxy_sync_proxy_rules_service_changes_pending 0\n",
	    "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"external\"} 2\n",
	    "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"internal\"} 1\n",
	    "kipvs_netlink_operations_total{op=\"add_dest\"} 2\n",
	    "kipvs_netlink_errors_total{op=\"add_dest\",errno=\"ESRCH\"} 1\n",
	    "kipvs_draining_real_servers 4\n",
	    "kipvs_virtual_server_connections_total{namespace=\"kube-system\",service=\"kube-dns\","
	    "port_name=\"dns\",vip=\"10.96.0.10:53/udp\"} 5\n",
	    "kipvs_virtual_server_bytes_total{namespace=\"kube-system\",service=\"kube-dns\","
	    "port_name=\"dns\",vip=\"10.96.0.10:53/udp\",direction=\"out\"} 5000000000\n",
	    "kipvs_virtual_server_packets_total{namespace=\"kube-system\",service=\"kube-dns\","
	    "port_name=\"dns\",vip=\"10.96.0.10:53/udp\",direction=\"in\"} 10\n",
	    "kipvs_virtual_server_connections_total{namespace=\"default\",service=\"web\","
	    "port_name=\"\",vip=\"[fd00::10]:80/tcp\"} 1\n",
	    "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n",
	    "# TYPE kipvs_virtual_server_bytes_total counter\n",
	};
	const int64_t t = 1795312729LL * 1000000000LL;
	char *text;

	(void)state;
	assert_int_equal(net_addr_parse("10.96.0.10", &st[0].addr), 0);
	assert_int_equal(net_addr_parse("fd00::10", &st[1].addr), 0);
	assert_int_equal(health_new(EV_DEFAULT, &cfg, &h), 0);
	health_change_queued(h, HEALTH_CHANGE_SERVICE, t);
	health_change_queued(h, HEALTH_CHANGE_ENDPOINTS, t);
	health_change_queued(h, HEALTH_CHANGE_ENDPOINTS, t);
	health_changes_pending_set(h, 1, 2);
	health_synced(h, t, t + 250000000LL);
	health_network_programming_observe(h, t - 2500000000LL, t);
	health_network_programming_observe(h, 0, t);	 /* no annotation: ignored */
	health_network_programming_observe(h, t + 1, t); /* in the future: ignored */
	health_no_local_endpoints_set(h, 1, 2);
	health_netlink_op(h, "add_dest", 0);
	health_netlink_op(h, "add_dest", -ESRCH);
	health_draining_set(h, 4);
	assert_int_equal(health_vs_stats_set(h, st, 2), 0);
	text = render(h->metrics);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i])) {
			fprintf(stderr, "%s", text);
			fail_msg("missing line: %s", want[i]);
		}
	free(text);

	/* A later stats push replaces the set: web is gone. */
	assert_int_equal(health_vs_stats_set(h, st, 1), 0);
	text = render(h->metrics);
	assert_null(strstr(text, "service=\"web\""));
	assert_non_null(strstr(text, "service=\"kube-dns\""));
	free(text);
	health_free(h);
}

/* The phase line names every phase once, in order, with one decimal. */
static void test_sync_phases_format(void **state)
{
	struct sync_phases ph = {0};
	char line[512];

	(void)state;
	ph.ms[SYNC_PHASE_DECODE] = 12.34;
	ph.ms[SYNC_PHASE_RECORD] = 0.05;
	sync_phases_format(&ph, line, sizeof(line));
	assert_string_equal(line, "decode_ms=12.3 plan_ms=0.0 read_ms=0.0 diff_ms=0.0 ipvs_ms=0.0 "
				  "vips_ms=0.0 nftables_ms=0.0 conntrack_ms=0.0 record_ms=0.1");
	/* a short buffer is cut, never overrun */
	sync_phases_format(&ph, line, 20);
	assert_int_equal(strlen(line), 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sync_phases_format),
	    cmocka_unit_test(test_format_value),
	    cmocka_unit_test(test_render_exact),
	    cmocka_unit_test(test_health_families),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
