/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_options_file.c, `--config FILE` with a kube-proxy
 * KubeProxyConfiguration: a real kubeadm config gives the same effective settings as the
 * equivalent flags (YAML and JSON), flags override the file, each unused field is warned about
 * exactly once (and a mode other than ipvs), old-style values are read as kube-proxy reads
 * them, and broken files are refused with a line naming the field and the file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kube_options.h"
#include "kube_options_internal.h"
#include "log.h"

static char tmpdir[] = "/tmp/kipvs-test-proxy-config-XXXXXX";
static char logbuf[1 << 16];

static const char *fixture(const char *name)
{
	static char path[1024];
	const char *dir = getenv("KIPVS_FIXTURES");

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/config/%s", dir, name);
	return path;
}

static const char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/*
 * Parses argv (NULL-terminated, argv[0] "run") for kipvs run with the log captured into
 * logbuf. Returns the parser's result; err holds its message.
 */
static int parse_logged(struct kube_options *o, const char *const *args, char *err, size_t size)
{
	char *argv[32];
	int argc = 0, r;
	FILE *log = tmpfile();
	size_t n;

	assert_non_null(log);
	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	log_set_stream(log);
	r = kube_options_parse(o, KUBE_OPTIONS_CMD_RUN, argc, argv, err, size);
	log_set_stream(NULL);
	rewind(log);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, log);
	logbuf[n] = '\0';
	fclose(log);
	return r;
}

static void parse_ok(struct kube_options *o, const char *const *args)
{
	char err[512] = "";
	int r = parse_logged(o, args, err, sizeof(err));

	if (r != 0)
		fail_msg("%s %s: returned %d: %s", args[1], args[2] ? args[2] : "", r, err);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void addrs_equal(const char *what, const void *a, size_t na, const void *b, size_t nb,
			size_t size)
{
	if (na != nb || (na && memcmp(a, b, na * size) != 0))
		fail_msg("%s differ (%zu and %zu items)", what, na, nb);
}

static void str_equal(const char *what, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		fail_msg("%s differ: '%s' and '%s'", what, a ? a : "(null)", b ? b : "(null)");
}

/* Every effective setting (all but the --config path itself) must be equal. */
static void options_equal(const struct kube_options *a, const struct kube_options *b)
{
	str_equal("kubeconfig", a->kubeconfig, b->kubeconfig);
	str_equal("master", a->master, b->master);
	str_equal("from", a->from, b->from);
	assert_int_equal(a->sync_timeout_ms, b->sync_timeout_ms);
	str_equal("hostname", a->hostname, b->hostname);
	addrs_equal("node IPs", a->node_ips, a->n_node_ips, b->node_ips, b->n_node_ips,
		    sizeof(*a->node_ips));
	addrs_equal("nodeport CIDRs", a->nodeport_cidrs, a->n_nodeport_cidrs, b->nodeport_cidrs,
		    b->n_nodeport_cidrs, sizeof(*a->nodeport_cidrs));
	str_equal("proxy name", a->proxy_name, b->proxy_name);
	addrs_equal("cluster CIDRs", a->cluster_cidrs, a->n_cluster_cidrs, b->cluster_cidrs,
		    b->n_cluster_cidrs, sizeof(*a->cluster_cidrs));
	assert_int_equal(a->masquerade_all, b->masquerade_all);
	str_equal("scheduler", a->scheduler, b->scheduler);
	assert_int_equal(a->sync_period_ms, b->sync_period_ms);
	assert_int_equal(a->min_sync_period_ms, b->min_sync_period_ms);
	addrs_equal("exclude CIDRs", a->exclude_cidrs, a->n_exclude_cidrs, b->exclude_cidrs,
		    b->n_exclude_cidrs, sizeof(*a->exclude_cidrs));
	assert_int_equal(a->strict_arp, b->strict_arp);
	assert_int_equal(a->tcp_timeout_ms, b->tcp_timeout_ms);
	assert_int_equal(a->tcpfin_timeout_ms, b->tcpfin_timeout_ms);
	assert_int_equal(a->udp_timeout_ms, b->udp_timeout_ms);
	str_equal("dummy interface", a->dummy_interface, b->dummy_interface);
	assert_int_equal(a->drain_timeout_ms, b->drain_timeout_ms);
	if (memcmp(&a->healthz, &b->healthz, sizeof(a->healthz)) != 0)
		fail_msg("healthz bind addresses differ");
	if (memcmp(&a->metrics, &b->metrics, sizeof(a->metrics)) != 0)
		fail_msg("metrics bind addresses differ");
	assert_int_equal(a->verbosity, b->verbosity);
}

/* The flags that say what tests/fixtures/config/kubeadm-ipvs.yaml says. */
#define KUBEADM_FLAGS                                                                              \
	"--kubeconfig", "/var/lib/kube-proxy/kubeconfig.conf", "--cluster-cidr", "10.244.0.0/16",  \
		"--ipvs-exclude-cidrs", "10.96.100.0/24", "--ipvs-min-sync-period", "2s",          \
		"--ipvs-scheduler", "wrr", "--ipvs-strict-arp", "--ipvs-sync-period", "1m0s",      \
		"--ipvs-tcp-timeout", "15m"

static void test_kubeadm_equals_flags(void **state)
{
	static const char *const names[] = { "kubeadm-ipvs.yaml", "kubeadm-ipvs.json" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const char *file_args[] = { "run", "--config", fixture(names[i]), NULL };
		const char *flag_args[] = { "run", KUBEADM_FLAGS, NULL };
		struct kube_options file = { 0 }, flags = { 0 };

		parse_ok(&flags, flag_args);
		parse_ok(&file, file_args);
		print_message("%s: comparing\n", names[i]);
		options_equal(&file, &flags);
		/* Only zero values besides the used fields, and mode ipvs: nothing to warn about. */
		if (strstr(logbuf, "level=warn"))
			fail_msg("%s: unexpected warning:\n%s", names[i], logbuf);
		assert_string_equal(file.config, fixture(names[i]));
		kube_options_clear(&file);
		kube_options_clear(&flags);
	}
}

static void test_flags_override_file(void **state)
{
	const char *args[] = { "run",
			       "--config",
			       fixture("kubeadm-ipvs.yaml"),
			       "--ipvs-scheduler",
			       "rr",
			       "--ipvs-strict-arp=false",
			       "--cluster-cidr=10.0.0.0/8",
			       "--ipvs-exclude-cidrs",
			       "10.1.0.0/16,10.2.0.0/16",
			       "--ipvs-sync-period",
			       "10s",
			       NULL };
	const char *from_args[] = { "run", "--config", fixture("kubeadm-ipvs.yaml"), "--from",
				    "/srv/objects", NULL };
	struct kube_options o = { 0 };
	char buf[NET_ADDR_STRLEN];

	(void)state;
	parse_ok(&o, args);
	assert_string_equal(o.scheduler, "rr");
	assert_false(o.strict_arp);
	assert_int_equal(o.n_cluster_cidrs, 1);
	assert_string_equal(net_addr_format(&o.cluster_cidrs[0].addr, buf), "10.0.0.0");
	assert_int_equal(o.n_exclude_cidrs, 2);
	assert_int_equal(o.sync_period_ms, 10000);
	/* Not overridden: still the file's. */
	assert_int_equal(o.min_sync_period_ms, 2000);
	assert_int_equal(o.tcp_timeout_ms, 15 * 60 * 1000);
	assert_string_equal(o.kubeconfig, "/var/lib/kube-proxy/kubeconfig.conf");
	kube_options_clear(&o);

	/* --from on the command line replaces the file's clientConnection.kubeconfig. */
	parse_ok(&o, from_args);
	assert_string_equal(o.from, "/srv/objects");
	assert_null(o.kubeconfig);
	kube_options_clear(&o);
}

/* Each field warned about, once; and nothing else warned. */
static void expect_warnings(const char *file, const char *const *fields, size_t n_fields,
			    size_t n_extra)
{
	size_t total = count(logbuf, "level=warn");

	for (size_t i = 0; i < n_fields; i++) {
		char needle[128];

		snprintf(needle, sizeof(needle), " field=%s\n", fields[i]);
		if (count(logbuf, needle) != 1)
			fail_msg("%s: field %s warned %zu times, want once:\n%s", file, fields[i],
				 count(logbuf, needle), logbuf);
	}
	if (total != n_fields + n_extra)
		fail_msg("%s: %zu warnings, want %zu:\n%s", file, total, n_fields + n_extra, logbuf);
	if (count(logbuf, "component=config") < total)
		fail_msg("%s: a warning is not component=config:\n%s", file, logbuf);
}

static void test_kube_proxy_defaults(void **state)
{
	static const char *const ignored[] = {
		"clientConnection.burst",
		"clientConnection.contentType",
		"clientConnection.qps",
		"configSyncPeriod",
		"conntrack.maxPerCore",
		"conntrack.min",
		"conntrack.tcpCloseWaitTimeout",
		"conntrack.tcpEstablishedTimeout",
		"detectLocalMode",
		"iptables.localhostNodePorts",
		"iptables.masqueradeBit",
		"iptables.minSyncPeriod",
		"iptables.syncPeriod",
		"logging.flushFrequency",
		"logging.format",
		"nftables.masqueradeBit",
		"nftables.minSyncPeriod",
		"nftables.syncPeriod",
		"oomScoreAdj",
	};
	const char *file_args[] = { "run", "--config", fixture("kube-proxy-defaults.yaml"), NULL };
	const char *none[] = { "run", NULL };
	struct kube_options file = { 0 }, defaults = { 0 };

	(void)state;
	parse_ok(&defaults, none);
	parse_ok(&file, file_args);
	/* kube-proxy's defaults are kipvs's defaults. */
	options_equal(&file, &defaults);
	expect_warnings("kube-proxy-defaults.yaml", ignored, sizeof(ignored) / sizeof(ignored[0]),
			1);
	/* mode: iptables gets its own line. */
	if (count(logbuf, "level=warn component=config msg=\"kube-proxy mode is not ipvs") != 1 ||
	    !strstr(logbuf, "field=mode value=iptables"))
		fail_msg("mode iptables not warned once:\n%s", logbuf);
	kube_options_clear(&file);
	kube_options_clear(&defaults);
}

static void test_old_style(void **state)
{
	static const char *const ignored[] = { "featureGates.TopologyAwareHints",
					       "udpIdleTimeout" };
	const char *args[] = { "run", "--config", fixture("old-style.yaml"), NULL };
	const char *flag_args[] = { "run",
				    "--healthz-bind-address",
				    "0.0.0.0:10256",
				    "--metrics-bind-address",
				    "[::1]:10249",
				    "--cluster-cidr",
				    "10.244.0.0/16,fd00:10:244::/56",
				    "--nodeport-addresses",
				    "192.168.0.0/16,fd00::/64",
				    "--hostname-override",
				    "worker-1",
				    "--service-proxy-name",
				    "kipvs",
				    "--ipvs-scheduler",
				    "lc",
				    "--masquerade-all",
				    "-v",
				    "2",
				    NULL };
	struct kube_options o = { 0 }, flags = { 0 };

	(void)state;
	parse_ok(&flags, flag_args);
	parse_ok(&o, args);
	expect_warnings("old-style.yaml", ignored, 2, 0);
	options_equal(&o, &flags);
	kube_options_clear(&o);
	kube_options_clear(&flags);
}

struct file_case {
	const char *name;
	const char *yaml;
	const char *err; /* substring of the error; NULL: parses */
	void (*check)(const struct kube_options *o, const char *name);
};

#define HEAD "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("case '%s': %s", name, #cond);                                    \
	} while (0)

static void check_zero_means_default(const struct kube_options *o, const char *name)
{
	EXPECT(o->sync_period_ms == 30000 && strcmp(o->scheduler, "rr") == 0);
	EXPECT(o->healthz.port == 10256 && o->metrics.port == 10249);
	EXPECT(o->n_nodeport_cidrs == 0 && o->kubeconfig == NULL && o->proxy_name == NULL);
}

static void check_primary(const struct kube_options *o, const char *name)
{
	EXPECT(o->n_nodeport_cidrs == 0);
}

static void check_port0(const struct kube_options *o, const char *name)
{
	EXPECT(o->healthz.port == 0 && o->metrics.port == 8080);
}

static void check_v6_defaults(const struct kube_options *o, const char *name)
{
	char buf[NET_ADDR_STRLEN];

	EXPECT(strcmp(net_addr_format_port(&o->healthz.addr, o->healthz.port, buf),
		      "[::]:10256") == 0);
	EXPECT(strcmp(net_addr_format_port(&o->metrics.addr, o->metrics.port, buf),
		      "[::1]:10249") == 0);
}

static void check_picked(const struct kube_options *o, const char *name)
{
	EXPECT(strcmp(o->scheduler, "sh") == 0);
}

static const struct file_case file_cases[] = {
	{ "zero values mean kube-proxy's defaults",
	  HEAD "ipvs:\n  syncPeriod: 0s\n  scheduler: \"\"\nhealthzBindAddress: \"\"\n"
	       "metricsBindAddress: \"\"\nnodePortAddresses: []\nclientConnection:\n"
	       "  kubeconfig: \"\"\nserviceProxyName: \"\"\nhostnameOverride: \"\"\n",
	  NULL, check_zero_means_default },
	{ "nodePortAddresses primary", HEAD "nodePortAddresses: [primary]\n", NULL, check_primary },
	{ "port 0 turns serving off", HEAD "healthzBindAddress: 0.0.0.0:0\n"
					  "metricsBindAddress: \"127.0.0.1:8080\"\n",
	  NULL, check_port0 },
	{ "IPv6 bindAddress moves the serving defaults", HEAD "bindAddress: \"::\"\n", NULL,
	  check_v6_defaults },
	{ "the KubeProxyConfiguration among several documents",
	  "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n---\n" HEAD
	  "ipvs: {scheduler: sh}\n",
	  NULL, check_picked },
	{ "wrong apiVersion", "apiVersion: kubeproxy.config.k8s.io/v1alpha2\n"
			      "kind: KubeProxyConfiguration\n",
	  "invalid value \"kubeproxy.config.k8s.io/v1alpha2\" for apiVersion in ", NULL },
	{ "wrong kind", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n",
	  "invalid value \"KubeletConfiguration\" for kind in ", NULL },
	{ "no kind", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: ipvs\n",
	  "want apiVersion kubeproxy.config.k8s.io/v1alpha1 and kind KubeProxyConfiguration",
	  NULL },
	{ "bad sync period", HEAD "ipvs:\n  syncPeriod: 5x\n",
	  "kipvs: invalid value \"5x\" for ipvs.syncPeriod in ", NULL },
	{ "negative min sync period", HEAD "ipvs:\n  minSyncPeriod: -1s\n",
	  "invalid value \"-1s\" for ipvs.minSyncPeriod in ", NULL },
	{ "min sync period above sync period", HEAD "ipvs:\n  minSyncPeriod: 1m\n",
	  "must not be shorter than --ipvs-min-sync-period (60s)", NULL },
	{ "duration as a number", HEAD "ipvs:\n  tcpTimeout: 30\n",
	  "invalid value for ipvs.tcpTimeout in ", NULL },
	{ "strictARP as a string", HEAD "ipvs:\n  strictARP: \"true\"\n",
	  "invalid value for ipvs.strictARP in ", NULL },
	{ "masqueradeAll as a number", HEAD "iptables:\n  masqueradeAll: 1\n",
	  "for iptables.masqueradeAll", NULL },
	{ "scheduler name with a space", HEAD "ipvs:\n  scheduler: round robin\n",
	  "invalid value \"round robin\" for ipvs.scheduler in ", NULL },
	{ "excludeCIDRs as a string", HEAD "ipvs:\n  excludeCIDRs: 10.0.0.0/8\n",
	  "invalid value for ipvs.excludeCIDRs in ", NULL },
	{ "bad excludeCIDRs item", HEAD "ipvs:\n  excludeCIDRs: [10.0.0.0/8, nope]\n",
	  "invalid value \"nope\" for ipvs.excludeCIDRs", NULL },
	{ "two IPv4 cluster CIDRs", HEAD "clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n",
	  "invalid value \"10.0.0.0/8,10.1.0.0/16\" for clusterCIDR in ", NULL },
	{ "bad nodePortAddresses", HEAD "nodePortAddresses: [10.0.0.1]\n",
	  "invalid value \"10.0.0.1\" for nodePortAddresses in ", NULL },
	{ "primary mixed with a CIDR", HEAD "nodePortAddresses: [10.0.0.0/8, primary]\n",
	  "'primary' cannot be mixed", NULL },
	{ "a CIDR after primary", HEAD "nodePortAddresses: [primary, 10.0.0.0/8]\n",
	  "'primary' cannot be mixed", NULL },
	{ "bad healthz address", HEAD "healthzBindAddress: \"nope:80\"\n",
	  "invalid value \"nope:80\" for healthzBindAddress in ", NULL },
	{ "bad bindAddress", HEAD "bindAddress: 10.0.0.300\n",
	  "invalid value \"10.0.0.300\" for bindAddress", NULL },
	{ "bad hostnameOverride", HEAD "hostnameOverride: \"a b\"\n",
	  "invalid value \"a b\" for hostnameOverride", NULL },
	{ "bad serviceProxyName", HEAD "serviceProxyName: \"-x-\"\n",
	  "invalid value \"-x-\" for serviceProxyName", NULL },
	{ "negative verbosity", HEAD "logging:\n  verbosity: -1\n",
	  "invalid value for logging.verbosity in ", NULL },
	{ "not YAML", HEAD "ipvs: [\n", "for --config: line", NULL },
	{ "not JSON", "{\"apiVersion\": ", "for --config: not valid JSON", NULL },
	{ "a list, not a mapping", "- a\n- b\n", "for --config: not a mapping", NULL },
	{ "two KubeProxyConfigurations", HEAD "---\n" HEAD,
	  "want one KubeProxyConfiguration document", NULL },
	{ "empty file", "", "want one KubeProxyConfiguration document", NULL },
};

static void test_file_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		const struct file_case *c = &file_cases[i];
		const char *path = write_tmp("case.yaml", c->yaml);
		const char *args[] = { "run", "--config", path, NULL };
		struct kube_options o = { 0 };
		char err[512] = "";
		int r = parse_logged(&o, args, err, sizeof(err));

		if (c->err) {
			if (r != -EINVAL)
				fail_msg("case '%s': returned %d, want -EINVAL", c->name, r);
			if (!strstr(err, c->err))
				fail_msg("case '%s': error '%s' lacks '%s'", c->name, err, c->err);
			if (strncmp(err, "kipvs: ", 7) != 0 || strchr(err, '\n'))
				fail_msg("case '%s': error is not one 'kipvs: ' line: '%s'", c->name,
					 err);
			if (!strstr(err, path))
				fail_msg("case '%s': error does not name the file: '%s'", c->name,
					 err);
		} else if (r != 0) {
			fail_msg("case '%s': returned %d: %s", c->name, r, err);
		} else {
			c->check(&o, c->name);
		}
		kube_options_clear(&o);
	}
}

/* A mode other than ipvs is warned once; an empty mode says kube-proxy would use iptables. */
static void test_mode_warning(void **state)
{
	static const struct {
		const char *mode;
		const char *want;
	} cases[] = {
		{ "iptables", "field=mode value=iptables" },
		{ "nftables", "field=mode value=nftables" },
		{ "\"\"", "field=mode value=\"\" detail=\"empty: kube-proxy would use iptables\"" },
		{ "ipvs", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		const char *args[] = { "run", "--config", NULL, NULL };
		struct kube_options o = { 0 };

		snprintf(text, sizeof(text), HEAD "mode: %s\n", cases[i].mode);
		args[2] = write_tmp("mode.yaml", text);
		parse_ok(&o, args);
		if (cases[i].want ? count(logbuf, "level=warn") != 1 || !strstr(logbuf, cases[i].want)
				  : strstr(logbuf, "level=warn") != NULL)
			fail_msg("mode %s: log is:\n%s", cases[i].mode, logbuf);
		kube_options_clear(&o);
	}
}

/* Zero-valued fields kipvs does not use are noted at debug level only, and only with -v. */
static void test_unset_fields_at_debug(void **state)
{
	const char *args[] = { "run", "--config", fixture("kubeadm-ipvs.yaml"), NULL };
	struct kube_options o = { 0 };

	(void)state;
	log_set_verbosity(1);
	parse_ok(&o, args);
	log_set_verbosity(0);
	if (count(logbuf, "level=debug component=config") < 20 ||
	    count(logbuf, " field=winkernel.networkName\n") != 1)
		fail_msg("unset fields not noted at debug:\n%s", logbuf);
	kube_options_clear(&o);
}

/* The example shipped in dist/ is valid and uses only fields kipvs reads. */
static void test_dist_example(void **state)
{
	char path[1024];
	const char *args[] = { "run", "--config", path, NULL };
	struct kube_options o = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/../../dist/kipvs.yaml", getenv("KIPVS_FIXTURES"));
	parse_ok(&o, args);
	if (strstr(logbuf, "level=warn"))
		fail_msg("dist/kipvs.yaml: unexpected warning:\n%s", logbuf);
	assert_int_equal(o.n_cluster_cidrs, 2);
	assert_string_equal(o.kubeconfig, "/var/lib/kube-proxy/kubeconfig.conf");
	kube_options_clear(&o);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeadm_equals_flags),
		cmocka_unit_test(test_flags_override_file),
		cmocka_unit_test(test_kube_proxy_defaults),
		cmocka_unit_test(test_old_style),
		cmocka_unit_test(test_file_cases),
		cmocka_unit_test(test_mode_warning),
		cmocka_unit_test(test_unset_fields_at_debug),
		cmocka_unit_test(test_dist_example),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
