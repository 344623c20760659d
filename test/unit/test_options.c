/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_options.c and lib/kube_options_value.c: the Go duration parser, the
 * value parsers (booleans, bind addresses, CIDR lists), the command line (both flag forms,
 * booleans, -v, repeatable flags, per-command flags, every refusal naming its flag), --help
 * generated from the table, and docs/flags.md listing every flag with its default.
 */
#include <ctype.h>
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

#define MS 1000ull
#define NS_S 1000000000ll

struct duration_case {
	const char *text;
	int want_r;
	int64_t want_ns;
};

static const struct duration_case duration_cases[] = {
	{ "0", 0, 0 },
	{ "-0", 0, 0 },
	{ "+0", 0, 0 },
	{ "0s", 0, 0 },
	{ "5s", 0, 5 * NS_S },
	{ "30s", 0, 30 * NS_S },
	{ "1478s", 0, 1478 * NS_S },
	{ "-5s", 0, -5 * NS_S },
	{ "+5s", 0, 5 * NS_S },
	{ "5.0s", 0, 5 * NS_S },
	{ "5.6s", 0, 5 * NS_S + 600000000 },
	{ "5.s", 0, 5 * NS_S },
	{ ".5s", 0, 500000000 },
	{ "1.0s", 0, NS_S },
	{ "1.00s", 0, NS_S },
	{ "1.004s", 0, NS_S + 4000000 },
	{ "1.0040s", 0, NS_S + 4000000 },
	{ "100.00100s", 0, 100 * NS_S + 1000000 },
	{ "10ns", 0, 10 },
	{ "11us", 0, 11000 },
	{ "12\xc2\xb5s", 0, 12000 },
	{ "12\xce\xbcs", 0, 12000 },
	{ "13ms", 0, 13000000 },
	{ "14s", 0, 14 * NS_S },
	{ "15m", 0, 15 * 60 * NS_S },
	{ "16h", 0, 16 * 3600 * NS_S },
	{ "1m0s", 0, 60 * NS_S },
	{ "5m0s", 0, 300 * NS_S },
	{ "2h45m", 0, (2 * 3600 + 45 * 60) * NS_S },
	{ "3h30m", 0, (3 * 3600 + 30 * 60) * NS_S },
	{ "10.5s4m", 0, 4 * 60 * NS_S + 10 * NS_S + 500000000 },
	{ "-2m3.4s", 0, -(2 * 60 * NS_S + 3 * NS_S + 400000000) },
	{ "1h2m3s4ms5us6ns", 0, 3600 * NS_S + 2 * 60 * NS_S + 3 * NS_S + 4000000 + 5000 + 6 },
	{ "39h9m14.425s", 0, 39 * 3600 * NS_S + 9 * 60 * NS_S + 14 * NS_S + 425000000 },
	{ "300ms", 0, 300000000 },
	{ "-1.5h", 0, -(3600 + 1800) * NS_S },
	{ "52763797000ns", 0, 52763797000 },
	{ "0.3333333333333333333h", 0, 20 * 60 * NS_S },
	{ "9007199254740993ns", 0, 9007199254740993ll },
	{ "9223372036854775807ns", 0, INT64_MAX },
	{ "9223372036854775.807us", 0, INT64_MAX },
	{ "-9223372036854775808ns", 0, INT64_MIN },
	{ "0.100000000000000000000h", 0, 6 * 60 * NS_S },
	{ "2562047h", 0, 2562047ll * 3600 * NS_S },
	/* refused */
	{ "", -EINVAL, 0 },
	{ "3", -EINVAL, 0 },
	{ "30", -EINVAL, 0 },
	{ "-", -EINVAL, 0 },
	{ "+", -EINVAL, 0 },
	{ "s", -EINVAL, 0 },
	{ ".", -EINVAL, 0 },
	{ "-.", -EINVAL, 0 },
	{ ".s", -EINVAL, 0 },
	{ "+.s", -EINVAL, 0 },
	{ "1d", -EINVAL, 0 },
	{ "1x", -EINVAL, 0 },
	{ "1e3s", -EINVAL, 0 },
	{ "1.2.3s", -EINVAL, 0 },
	{ "1s ", -EINVAL, 0 },
	{ " 1s", -EINVAL, 0 },
	{ "1 s", -EINVAL, 0 },
	{ "1S", -EINVAL, 0 },
	{ "5s-3s", -EINVAL, 0 },
	{ "9223372036854775808ns", -ERANGE, 0 },
	{ "9223372036854775.808us", -ERANGE, 0 },
	{ "9223372036854ms775us808ns", -ERANGE, 0 },
	{ "-9223372036854775809ns", -ERANGE, 0 },
	{ "2562048h", -ERANGE, 0 },
	{ "99999999999999999999s", -ERANGE, 0 },
};

static void test_duration_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
		const struct duration_case *c = &duration_cases[i];
		int64_t ns = 12345;
		int r = kube_options_duration_parse(c->text, &ns);

		if (r != c->want_r)
			fail_msg("duration '%s': returned %d, want %d", c->text, r, c->want_r);
		if (r == 0 && ns != c->want_ns)
			fail_msg("duration '%s': %lld ns, want %lld", c->text, (long long)ns,
				 (long long)c->want_ns);
		if (r < 0 && ns != 12345)
			fail_msg("duration '%s': output written on failure", c->text);
	}
}

struct ms_case {
	const char *text;
	bool bare_seconds;
	int want_r;
	uint64_t want_ms;
	const char *why; /* substring of the reason on failure */
};

static const struct ms_case ms_cases[] = {
	{ "30s", false, 0, 30 * MS, NULL },
	{ "1m0s", false, 0, 60 * MS, NULL },
	{ "300ms", false, 0, 300, NULL },
	{ "1500us", false, 0, 1, NULL }, /* below a millisecond: truncated */
	{ "0", false, 0, 0, NULL },
	{ "20", true, 0, 20 * MS, NULL },
	{ "20s", true, 0, 20 * MS, NULL },
	{ "20", false, -EINVAL, 0, "not a duration" },
	{ "-5s", false, -EINVAL, 0, "negative" },
	{ "-3", true, -EINVAL, 0, "not a duration" },
	{ "9999999999h", false, -EINVAL, 0, "out of range" },
	{ "", true, -EINVAL, 0, "not a duration" },
};

static void test_ms_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ms_cases) / sizeof(ms_cases[0]); i++) {
		const struct ms_case *c = &ms_cases[i];
		char why[KUBE_OPTIONS_WHY_MAX] = "";
		uint64_t ms = 777;
		int r = kube_options_ms_parse(c->text, c->bare_seconds, &ms, why, sizeof(why));

		if (r != c->want_r)
			fail_msg("ms '%s' (bare %d): returned %d, want %d (%s)", c->text,
				 c->bare_seconds, r, c->want_r, why);
		if (r == 0 && ms != c->want_ms)
			fail_msg("ms '%s': %llu, want %llu", c->text, (unsigned long long)ms,
				 (unsigned long long)c->want_ms);
		if (r < 0 && (!strstr(why, c->why) || ms != 777))
			fail_msg("ms '%s': reason '%s' lacks '%s' or output written", c->text, why,
				 c->why);
	}
}

static void test_bool_parse(void **state)
{
	static const struct {
		const char *text;
		int want_r;
		bool want;
	} cases[] = {
		{ "1", 0, true },	  { "t", 0, true },	 { "T", 0, true },
		{ "TRUE", 0, true },	  { "true", 0, true },	 { "True", 0, true },
		{ "0", 0, false },	  { "f", 0, false },	 { "F", 0, false },
		{ "FALSE", 0, false },	  { "false", 0, false }, { "False", 0, false },
		{ "yes", -EINVAL, false }, { "tRUE", -EINVAL, false }, { "", -EINVAL, false },
		{ "2", -EINVAL, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[KUBE_OPTIONS_WHY_MAX];
		bool b = !cases[i].want;
		int r = kube_options_bool_parse(cases[i].text, &b, why, sizeof(why));

		if (r != cases[i].want_r || (r == 0 && b != cases[i].want))
			fail_msg("bool '%s': returned %d value %d", cases[i].text, r, b);
	}
}

struct bind_case {
	const char *text;
	int want_r;
	const char *want; /* net_addr_format_port() of the result; NULL: disabled */
};

static const struct bind_case bind_cases[] = {
	{ "0.0.0.0:10256", 0, "0.0.0.0:10256" },
	{ "127.0.0.1:10249", 0, "127.0.0.1:10249" },
	{ "[::]:10256", 0, "[::]:10256" },
	{ "[fd00::1]:8080", 0, "[fd00::1]:8080" },
	{ "[::1]", 0, "[::1]:9999" },
	{ "::1", 0, "[::1]:9999" },
	{ "10.0.0.1", 0, "10.0.0.1:9999" },
	{ "10.0.0.1:65535", 0, "10.0.0.1:65535" },
	{ "", 0, NULL },
	{ "0.0.0.0:0", 0, NULL },
	{ "[::]:0", 0, NULL },
	{ "localhost:80", -EINVAL, NULL },
	{ "[10.0.0.1]:80", -EINVAL, NULL },
	{ "10.0.0.1:", -EINVAL, NULL },
	{ "10.0.0.1:65536", -EINVAL, NULL },
	{ "10.0.0.1:-1", -EINVAL, NULL },
	{ "10.0.0.1:80x", -EINVAL, NULL },
	{ "[::1]x", -EINVAL, NULL },
	{ "[::1", -EINVAL, NULL },
	{ ":80", -EINVAL, NULL },
	{ "10.0.0.300:80", -EINVAL, NULL },
};

static void test_bind_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++) {
		const struct bind_case *c = &bind_cases[i];
		struct kube_options_bind b = { .port = 4242 };
		char why[KUBE_OPTIONS_WHY_MAX], buf[NET_ADDR_STRLEN];
		int r = kube_options_bind_parse(c->text, 9999, &b, why, sizeof(why));

		if (r != c->want_r)
			fail_msg("bind '%s': returned %d, want %d", c->text, r, c->want_r);
		if (r < 0) {
			if (b.port != 4242)
				fail_msg("bind '%s': output written on failure", c->text);
			continue;
		}
		if (!c->want) {
			if (b.port != 0 || b.addr.family != 0)
				fail_msg("bind '%s': not disabled", c->text);
			continue;
		}
		net_addr_format_port(&b.addr, b.port, buf);
		if (strcmp(buf, c->want) != 0)
			fail_msg("bind '%s': got %s, want %s", c->text, buf, c->want);
	}
}

static void test_cidr_list(void **state)
{
	static const struct {
		const char *text;
		int want_r;
		size_t want_n;
	} cases[] = {
		{ "10.0.0.0/8", 0, 1 },
		{ "10.0.0.0/8,fd00::/64", 0, 2 },
		{ "10.0.0.0/8, 192.168.0.0/16 ", 0, 2 },
		{ "10.0.0.1/32", 0, 1 },
		{ "", 0, 0 },
		{ "10.0.0.1", -EINVAL, 0 },
		{ "10.0.0.0/33", -EINVAL, 0 },
		{ "10.0.0.0/8,", -EINVAL, 0 },
		{ ",10.0.0.0/8", -EINVAL, 0 },
		{ "primary", -EINVAL, 0 },
		{ "fd00::/129", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_prefix *v = NULL;
		size_t n = 0;
		char why[KUBE_OPTIONS_WHY_MAX];
		int r = kube_options_cidr_list_add(&v, &n, cases[i].text, why, sizeof(why));

		if (r != cases[i].want_r || (r == 0 && n != cases[i].want_n))
			fail_msg("cidrs '%s': returned %d with %zu, want %d with %zu", cases[i].text,
				 r, n, cases[i].want_r, cases[i].want_n);
		free(v);
	}
}

/* ---- the command line ---- */

#define ARGV_MAX 16

struct argv_case {
	const char *name;
	enum kube_options_cmd cmd;
	const char *argv[ARGV_MAX]; /* NULL-terminated */
	const char *err; /* substring of the one-line error; NULL: parses */
	void (*check)(const struct kube_options *o, const char *name);
};

static char hostname_lower[300];

static int parse_case(const struct argv_case *c, struct kube_options *o, char *err, size_t size)
{
	char *argv[ARGV_MAX];
	int argc = 0;

	while (c->argv[argc]) {
		argv[argc] = (char *)c->argv[argc];
		argc++;
	}
	argv[argc] = NULL;
	return kube_options_parse(o, c->cmd, argc, argv, err, size);
}

static const char *fmt_prefix(const struct net_prefix *p, char *buf)
{
	char addr[NET_ADDR_STRLEN];

	snprintf(buf, NET_ADDR_STRLEN + 8, "%s/%u", net_addr_format(&p->addr, addr), p->len);
	return buf;
}

static const char *fmt_bind(const struct kube_options_bind *b, char *buf)
{
	if (b->port == 0)
		return strcpy(buf, "off");
	return net_addr_format_port(&b->addr, b->port, buf);
}

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("case '%s': %s", name, #cond);                                    \
	} while (0)

static void check_defaults(const struct kube_options *o, const char *name)
{
	char buf[NET_ADDR_STRLEN];

	EXPECT(o->config == NULL && o->kubeconfig == NULL && o->master == NULL && !o->from);
	EXPECT(o->sync_timeout_ms == 30 * MS);
	EXPECT(strcmp(o->hostname, hostname_lower) == 0);
	EXPECT(o->n_node_ips == 0 && o->n_nodeport_cidrs == 0 && o->proxy_name == NULL);
	EXPECT(o->n_cluster_cidrs == 0 && !o->masquerade_all);
	EXPECT(strcmp(o->scheduler, "rr") == 0);
	EXPECT(o->sync_period_ms == 30 * MS && o->min_sync_period_ms == 0);
	EXPECT(o->n_exclude_cidrs == 0 && !o->strict_arp);
	EXPECT(o->tcp_timeout_ms == 0 && o->tcpfin_timeout_ms == 0 && o->udp_timeout_ms == 0);
	EXPECT(strcmp(o->dummy_interface, "kube-ipvs0") == 0);
	EXPECT(o->drain_timeout_ms == 300 * MS);
	EXPECT(strcmp(fmt_bind(&o->healthz, buf), "0.0.0.0:10256") == 0);
	EXPECT(strcmp(fmt_bind(&o->metrics, buf), "127.0.0.1:10249") == 0);
	EXPECT(o->verbosity == 0 && !o->help);
}

static void check_all_flags(const struct kube_options *o, const char *name)
{
	char buf[NET_ADDR_STRLEN + 8];

	EXPECT(strcmp(o->kubeconfig, "/etc/kc") == 0 && strcmp(o->master, "https://m:6443") == 0);
	EXPECT(o->sync_timeout_ms == 90 * MS);
	EXPECT(strcmp(o->hostname, "node-a") == 0);
	EXPECT(o->n_node_ips == 3);
	EXPECT(strcmp(net_addr_format(&o->node_ips[2], buf), "fd00::3") == 0);
	EXPECT(o->n_nodeport_cidrs == 1 &&
	       strcmp(fmt_prefix(&o->nodeport_cidrs[0], buf), "192.168.0.0/16") == 0);
	EXPECT(strcmp(o->proxy_name, "kipvs") == 0);
	EXPECT(o->n_cluster_cidrs == 2 && o->masquerade_all);
	EXPECT(strcmp(o->scheduler, "wrr") == 0);
	EXPECT(o->sync_period_ms == 60 * MS && o->min_sync_period_ms == 1500);
	EXPECT(o->n_exclude_cidrs == 2 && o->strict_arp);
	EXPECT(o->tcp_timeout_ms == 900 * MS && o->tcpfin_timeout_ms == 30 * MS &&
	       o->udp_timeout_ms == 300 * MS);
	EXPECT(strcmp(o->dummy_interface, "kipvs0") == 0 && o->drain_timeout_ms == 60 * MS);
	EXPECT(strcmp(fmt_bind(&o->healthz, buf), "[::]:10256") == 0);
	EXPECT(o->metrics.port == 0);
	EXPECT(o->verbosity == 4);
}

static void check_equals_form(const struct kube_options *o, const char *name)
{
	EXPECT(o->sync_period_ms == 45 * MS && strcmp(o->scheduler, "lc") == 0);
	EXPECT(o->masquerade_all && !o->strict_arp && o->verbosity == 3);
}

static void check_bool_false(const struct kube_options *o, const char *name)
{
	EXPECT(!o->masquerade_all && o->strict_arp);
}

static void check_v3(const struct kube_options *o, const char *name)
{
	EXPECT(o->verbosity == 3);
}

static void check_last_wins(const struct kube_options *o, const char *name)
{
	EXPECT(strcmp(o->scheduler, "sh") == 0 && o->sync_period_ms == 10 * MS);
}

static void check_lists_append(const struct kube_options *o, const char *name)
{
	EXPECT(o->n_nodeport_cidrs == 3 && o->n_exclude_cidrs == 2 && o->n_node_ips == 2);
}

static void check_primary(const struct kube_options *o, const char *name)
{
	EXPECT(o->n_nodeport_cidrs == 0);
}

static void check_off(const struct kube_options *o, const char *name)
{
	EXPECT(o->healthz.port == 0 && o->metrics.port == 0);
}

static void check_bare_seconds(const struct kube_options *o, const char *name)
{
	EXPECT(o->sync_timeout_ms == 20 * MS && o->drain_timeout_ms == 45 * MS);
}

static void check_hostname_lowered(const struct kube_options *o, const char *name)
{
	EXPECT(strcmp(o->hostname, "node-a.example") == 0);
}

static void check_help(const struct kube_options *o, const char *name)
{
	EXPECT(o->help);
}

static void check_any_scheduler(const struct kube_options *o, const char *name)
{
	EXPECT(strcmp(o->scheduler, "my_sched-2") == 0);
}

static void check_empty_scheduler(const struct kube_options *o, const char *name)
{
	EXPECT(strcmp(o->scheduler, "rr") == 0);
}

static void check_min_equals_sync(const struct kube_options *o, const char *name)
{
	EXPECT(o->sync_period_ms == 5 * MS && o->min_sync_period_ms == 5 * MS);
}

#define RUN KUBE_OPTIONS_CMD_RUN
#define PLAN KUBE_OPTIONS_CMD_PLAN
#define CLEANUP KUBE_OPTIONS_CMD_CLEANUP

static const struct argv_case argv_cases[] = {
	{ "run defaults", RUN, { "run", NULL }, NULL, check_defaults },
	{ "plan defaults", PLAN, { "plan", NULL }, NULL, check_defaults },
	{ "equals and space forms", RUN,
	  { "run", "--ipvs-sync-period", "45s", "--ipvs-scheduler=lc", "--masquerade-all=true",
	    "--ipvs-strict-arp=false", "--v=3", NULL },
	  NULL, check_equals_form },
	{ "booleans take =false", RUN,
	  { "run", "--masquerade-all", "--masquerade-all=false", "--ipvs-strict-arp=T", NULL },
	  NULL, check_bool_false },
	{ "-v N", PLAN, { "plan", "-v", "3", NULL }, NULL, check_v3 },
	{ "-v=N", PLAN, { "plan", "-v=3", NULL }, NULL, check_v3 },
	{ "-vN", PLAN, { "plan", "-v3", NULL }, NULL, check_v3 },
	{ "--v N", RUN, { "run", "--v", "3", NULL }, NULL, check_v3 },
	{ "the last use wins", RUN,
	  { "run", "--ipvs-scheduler", "lc", "--ipvs-sync-period=1m", "--ipvs-scheduler=sh",
	    "--ipvs-sync-period", "10s", NULL },
	  NULL, check_last_wins },
	{ "list flags append when repeated", RUN,
	  { "run", "--nodeport-addresses", "10.0.0.0/8", "--nodeport-addresses",
	    "10.1.0.0/16,10.2.0.0/16", "--ipvs-exclude-cidrs", "10.3.0.0/16",
	    "--ipvs-exclude-cidrs=10.4.0.0/16", "--node-ip", "10.0.0.1", "--node-ip", "10.0.0.2",
	    NULL },
	  NULL, check_lists_append },
	{ "nodeport-addresses primary is the default", PLAN,
	  { "plan", "--nodeport-addresses", "primary", NULL }, NULL, check_primary },
	{ "empty serving address and port 0 turn serving off", RUN,
	  { "run", "--healthz-bind-address", "", "--metrics-bind-address=0.0.0.0:0", NULL }, NULL,
	  check_off },
	{ "kipvs's own durations take seconds", RUN,
	  { "run", "--sync-timeout", "20", "--ipvs-drain-timeout=45", NULL }, NULL,
	  check_bare_seconds },
	{ "hostname trimmed and lowered", PLAN,
	  { "plan", "--hostname-override", " Node-A.Example ", NULL }, NULL,
	  check_hostname_lowered },
	{ "--help", PLAN, { "plan", "--from", "x", "--help", NULL }, NULL, check_help },
	{ "-h", RUN, { "run", "-h", NULL }, NULL, check_help },
	{ "empty scheduler is rr", RUN, { "run", "--ipvs-scheduler=", NULL }, NULL,
	  check_empty_scheduler },
	{ "any scheduler name: the kernel decides", RUN,
	  { "run", "--ipvs-scheduler", "my_sched-2", NULL }, NULL, check_any_scheduler },
	{ "cleanup takes run's flags", CLEANUP,
	  { "cleanup", "--ipvs-sync-period", "45s", "--ipvs-scheduler=lc", "--masquerade-all=true",
	    "--ipvs-strict-arp=false", "--v=3", NULL },
	  NULL, check_equals_form },
	{ "min sync period may equal sync period", RUN,
	  { "run", "--ipvs-sync-period=5s", "--ipvs-min-sync-period=5s", NULL }, NULL,
	  check_min_equals_sync },
	/* refused: each message names the flag */
	{ "unknown option", PLAN, { "plan", "--frob", NULL }, "kipvs plan: unknown option '--frob'",
	  NULL },
	{ "unknown short option", RUN, { "run", "-x", NULL }, "unknown option '-x'", NULL },
	{ "run flag on plan", PLAN, { "plan", "--masquerade-all", NULL },
	  "unknown option '--masquerade-all' (it applies to kipvs run)", NULL },
	{ "plan flag on cleanup", CLEANUP, { "cleanup", "--diff", NULL },
	  "kipvs cleanup: unknown option '--diff' (it applies to kipvs plan)", NULL },
	{ "unknown option on cleanup", CLEANUP, { "cleanup", "--bogus", NULL },
	  "kipvs cleanup: unknown option '--bogus'", NULL },
	{ "missing value", PLAN, { "plan", "--from", NULL }, "kipvs plan: --from needs a value",
	  NULL },
	{ "stray argument", RUN, { "run", "extra", NULL }, "kipvs run: unexpected argument 'extra'",
	  NULL },
	{ "argument after --", RUN, { "run", "--", "x", NULL }, "unexpected argument 'x'", NULL },
	{ "sync period 0", RUN, { "run", "--ipvs-sync-period", "0s", NULL },
	  "kipvs: invalid value \"0s\" for --ipvs-sync-period: must be greater than 0", NULL },
	{ "sync period without unit", RUN, { "run", "--ipvs-sync-period=30", NULL },
	  "invalid value \"30\" for --ipvs-sync-period: not a duration", NULL },
	{ "min sync period above sync period", RUN,
	  { "run", "--ipvs-min-sync-period", "1m", NULL },
	  "invalid value \"30s\" for --ipvs-sync-period: must not be shorter than "
	  "--ipvs-min-sync-period (60s)",
	  NULL },
	{ "negative tcp timeout", RUN, { "run", "--ipvs-tcp-timeout=-5s", NULL },
	  "invalid value \"-5s\" for --ipvs-tcp-timeout: must not be negative", NULL },
	{ "bad tcpfin timeout", RUN, { "run", "--ipvs-tcpfin-timeout", "soon", NULL },
	  "for --ipvs-tcpfin-timeout", NULL },
	{ "bad udp timeout", RUN, { "run", "--ipvs-udp-timeout", "1y", NULL },
	  "for --ipvs-udp-timeout", NULL },
	{ "bad drain timeout", RUN, { "run", "--ipvs-drain-timeout", "-1", NULL },
	  "for --ipvs-drain-timeout", NULL },
	{ "sync timeout 0", PLAN, { "plan", "--sync-timeout", "0", NULL },
	  "invalid value \"0\" for --sync-timeout: must be greater than 0", NULL },
	{ "two IPv4 cluster CIDRs", RUN, { "run", "--cluster-cidr", "10.0.0.0/8,10.1.0.0/16", NULL },
	  "for --cluster-cidr: one CIDR, or an IPv4 and an IPv6 CIDR", NULL },
	{ "three cluster CIDRs by repetition", RUN,
	  { "run", "--cluster-cidr", "10.0.0.0/8", "--cluster-cidr", "fd00::/64", "--cluster-cidr",
	    "fd01::/64", NULL },
	  "for --cluster-cidr", NULL },
	{ "bare address as cluster CIDR", RUN, { "run", "--cluster-cidr=10.0.0.1", NULL },
	  "'10.0.0.1' is not a CIDR", NULL },
	{ "bad nodeport CIDR", PLAN, { "plan", "--nodeport-addresses", "10.0.0.0/40", NULL },
	  "invalid value \"10.0.0.0/40\" for --nodeport-addresses", NULL },
	{ "primary after a CIDR", PLAN,
	  { "plan", "--nodeport-addresses", "10.0.0.0/8", "--nodeport-addresses", "primary", NULL },
	  "'primary' cannot be mixed", NULL },
	{ "a CIDR after primary", PLAN,
	  { "plan", "--nodeport-addresses", "primary", "--nodeport-addresses", "10.0.0.0/8", NULL },
	  "'primary' cannot be mixed", NULL },
	{ "bad exclude CIDR", RUN, { "run", "--ipvs-exclude-cidrs", "nope", NULL },
	  "for --ipvs-exclude-cidrs", NULL },
	{ "scheduler name with a slash", PLAN, { "plan", "--ipvs-scheduler", "../rr", NULL },
	  "invalid value \"../rr\" for --ipvs-scheduler: a scheduler name", NULL },
	{ "scheduler name of 16 characters", RUN,
	  { "run", "--ipvs-scheduler", "abcdefghijklmnop", NULL },
	  "for --ipvs-scheduler: a scheduler name: 1 to 15 letters", NULL },
	{ "bad boolean", RUN, { "run", "--masquerade-all=maybe", NULL },
	  "invalid value \"maybe\" for --masquerade-all: want true or false", NULL },
	{ "bad strict arp", RUN, { "run", "--ipvs-strict-arp=yes", NULL },
	  "for --ipvs-strict-arp", NULL },
	{ "bad node IP", PLAN, { "plan", "--node-ip", "10.0.0.300", NULL },
	  "invalid value \"10.0.0.300\" for --node-ip", NULL },
	{ "long interface name", RUN, { "run", "--dummy-interface", "a-very-long-name", NULL },
	  "for --dummy-interface", NULL },
	{ "interface name with slash", RUN, { "run", "--dummy-interface=a/b", NULL },
	  "for --dummy-interface", NULL },
	{ "negative verbosity", PLAN, { "plan", "-v", "-1", NULL }, "for --v", NULL },
	{ "verbosity not a number", PLAN, { "plan", "-vx", NULL }, "invalid value \"x\" for --v",
	  NULL },
	{ "bad proxy name", PLAN, { "plan", "--service-proxy-name", "bad name", NULL },
	  "for --service-proxy-name", NULL },
	{ "empty hostname", PLAN, { "plan", "--hostname-override=", NULL },
	  "for --hostname-override", NULL },
	{ "hostname with a space", PLAN, { "plan", "--hostname-override", "a b", NULL },
	  "for --hostname-override", NULL },
	{ "empty kubeconfig", PLAN, { "plan", "--kubeconfig=", NULL },
	  "invalid value \"\" for --kubeconfig: must not be empty", NULL },
	{ "bad healthz address", RUN, { "run", "--healthz-bind-address", "host:80", NULL },
	  "invalid value \"host:80\" for --healthz-bind-address", NULL },
	{ "bad metrics port", RUN, { "run", "--metrics-bind-address", "127.0.0.1:99999", NULL },
	  "for --metrics-bind-address", NULL },
	{ "--from with --kubeconfig", PLAN, { "plan", "--from", "x", "--kubeconfig", "y", NULL },
	  "kipvs plan: --from and --kubeconfig or --master exclude each other", NULL },
	{ "--from with --master", RUN, { "run", "--master=https://m", "--from", "x", NULL },
	  "exclude each other", NULL },
	{ "missing config file", PLAN, { "plan", "--config", "/nonexistent/kube-proxy.yaml", NULL },
	  "invalid value \"/nonexistent/kube-proxy.yaml\" for --config: No such file", NULL },
	{ "bad value reported before a missing file", PLAN,
	  { "plan", "--frob", "--config", "/nonexistent", NULL }, "unknown option '--frob'",
	  NULL },
};

static void test_argv(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(argv_cases) / sizeof(argv_cases[0]); i++) {
		const struct argv_case *c = &argv_cases[i];
		struct kube_options o = { 0 };
		char err[512] = "";
		int r = parse_case(c, &o, err, sizeof(err));

		if (c->err && c->err[0]) {
			if (r != -EINVAL)
				fail_msg("case '%s': returned %d, want -EINVAL", c->name, r);
			if (!strstr(err, c->err))
				fail_msg("case '%s': error '%s' lacks '%s'", c->name, err, c->err);
			if (strchr(err, '\n'))
				fail_msg("case '%s': error is not one line: '%s'", c->name, err);
		} else if (r != 0) {
			fail_msg("case '%s': returned %d: %s", c->name, r, err);
		} else if (c->check) {
			c->check(&o, c->name);
		}
		kube_options_clear(&o);
	}
}

/* The two "every run flag" lines together set every flag; check them as one command line. */
static void test_every_flag(void **state)
{
	char *argv[] = {
		"run",
		"--kubeconfig",
		"/etc/kc",
		"--master=https://m:6443",
		"--sync-timeout",
		"1m30s",
		"--hostname-override",
		"Node-A",
		"--node-ip",
		"10.0.0.1",
		"--node-ip=10.0.0.2,fd00::3",
		"--nodeport-addresses",
		"192.168.0.0/16",
		"--service-proxy-name",
		"kipvs",
		"--cluster-cidr",
		"10.244.0.0/16,fd00:10:244::/56",
		"--masquerade-all",
		"--ipvs-scheduler",
		"wrr",
		"--ipvs-sync-period",
		"1m",
		"--ipvs-min-sync-period",
		"1.5s",
		"--ipvs-exclude-cidrs",
		"10.96.100.0/24,10.96.101.0/24",
		"--ipvs-strict-arp",
		"--ipvs-tcp-timeout",
		"15m",
		"--ipvs-tcpfin-timeout",
		"30s",
		"--ipvs-udp-timeout",
		"5m0s",
		"--healthz-bind-address",
		"[::]:10256",
		"--metrics-bind-address",
		"",
		"--dummy-interface",
		"kipvs0",
		"--ipvs-drain-timeout",
		"1m",
		"--once",
		"-v",
		"4",
		NULL,
	};
	struct kube_options o = { 0 };
	char err[512] = "";
	int r;

	(void)state;
	r = kube_options_parse(&o, KUBE_OPTIONS_CMD_RUN, (int)(sizeof(argv) / sizeof(argv[0])) - 1,
			       argv, err, sizeof(err));
	if (r != 0)
		fail_msg("every flag: %d %s", r, err);
	check_all_flags(&o, "every flag");
	if (!o.once)
		fail_msg("every flag: --once not set");
	/* Each flag of the table was given above: the test must grow with the table. */
	for (size_t i = 0; i < kube_options_table_size; i++) {
		const char *n = kube_options_table[i].name;
		/* --diff is plan's only: test_plan_only_flags covers it. */
		bool found = strcmp(n, "config") == 0 || strcmp(n, "from") == 0 ||
			     strcmp(n, "diff") == 0;

		for (size_t j = 1; argv[j] && !found; j++) {
			size_t len = strlen(n);

			found = (strncmp(argv[j], "--", 2) == 0 && strncmp(argv[j] + 2, n, len) == 0 &&
				 (argv[j][2 + len] == '\0' || argv[j][2 + len] == '=')) ||
				(strcmp(n, "v") == 0 && strcmp(argv[j], "-v") == 0);
		}
		if (!found)
			fail_msg("flag --%s is not covered by test_every_flag", n);
	}
	kube_options_clear(&o);
}

/* The flags only plan takes: set by plan, refused by run. */
static void test_plan_only_flags(void **state)
{
	char *plan_argv[] = { "plan", "--diff", NULL }, *run_argv[] = { "run", "--diff", NULL };
	struct kube_options o = { 0 };
	char err[512] = "";

	(void)state;
	if (kube_options_parse(&o, KUBE_OPTIONS_CMD_PLAN, 2, plan_argv, err, sizeof(err)) != 0)
		fail_msg("plan --diff: %s", err);
	if (!o.diff || o.once)
		fail_msg("plan --diff: diff=%d once=%d", o.diff, o.once);
	kube_options_clear(&o);
	if (kube_options_parse(&o, KUBE_OPTIONS_CMD_RUN, 2, run_argv, err, sizeof(err)) != -EINVAL)
		fail_msg("run --diff was accepted");
	kube_options_clear(&o);
}

static char *help_of(enum kube_options_cmd cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	kube_options_help_write(f, cmd);
	fclose(f);
	return buf;
}

static bool help_has_flag(const char *help, const char *name)
{
	char needle[64];

	if (strcmp(name, "v") == 0)
		return strstr(help, "  -v, --v N ") != NULL;
	snprintf(needle, sizeof(needle), "  --%s ", name);
	if (strstr(help, needle))
		return true;
	snprintf(needle, sizeof(needle), "  --%s\n", name);
	return strstr(help, needle) != NULL;
}

static void test_help(void **state)
{
	char *run = help_of(KUBE_OPTIONS_CMD_RUN), *plan = help_of(KUBE_OPTIONS_CMD_PLAN);

	(void)state;
	for (size_t i = 0; i < kube_options_table_size; i++) {
		const struct kube_option *opt = &kube_options_table[i];
		bool in_plan = (opt->cmds & KUBE_OPTIONS_CMD_PLAN) != 0;
		bool in_run = (opt->cmds & KUBE_OPTIONS_CMD_RUN) != 0;

		if (help_has_flag(run, opt->name) != in_run)
			fail_msg("run --help %s --%s:\n%s", in_run ? "lacks" : "lists", opt->name,
				 run);
		if (help_has_flag(plan, opt->name) != in_plan)
			fail_msg("plan --help %s --%s", in_plan ? "lacks" : "lists", opt->name);
	}
	{
		/* The defaults, with the wrapping undone. */
		char *flat = strdup(run), *w = flat;

		assert_non_null(flat);
		for (const char *p = run; *p; p++)
			if (!(isspace((unsigned char)*p) && w > flat && w[-1] == ' '))
				*w++ = isspace((unsigned char)*p) ? ' ' : *p;
		*w = '\0';
		assert_non_null(strstr(flat, "(default 30s)"));
		assert_non_null(strstr(flat, "(default 0.0.0.0:10256)"));
		assert_non_null(strstr(flat, "(default 127.0.0.1:10249)"));
		assert_non_null(strstr(flat, "(default kube-ipvs0)"));
		free(flat);
	}
	assert_non_null(strstr(run, "  -h, --help"));
	for (const char *line = run; *line;) {
		size_t len = strcspn(line, "\n");

		if (len > 100)
			fail_msg("--help line longer than 100 columns: %.*s", (int)len, line);
		line += len + (line[len] == '\n');
	}
	free(run);
	free(plan);
}

/* docs/flags.md has one table row per flag, with its default. */
static void test_docs_table(void **state)
{
	const char *fixtures = getenv("KIPVS_FIXTURES");
	char path[1024], *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(fixtures);
	snprintf(path, sizeof(path), "%s/../../docs/flags.md", fixtures);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	text = calloc(1, 1 << 16);
	assert_non_null(text);
	len = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	assert_true(len > 0);
	for (size_t i = 0; i < kube_options_table_size; i++) {
		const struct kube_option *opt = &kube_options_table[i];
		char row[96], *at, *eol;

		if (strcmp(opt->name, "v") == 0)
			snprintf(row, sizeof(row), "| `-v N`, `--v=N` |");
		else if (opt->arg)
			snprintf(row, sizeof(row), "| `--%s %s` |", opt->name, opt->arg);
		else
			snprintf(row, sizeof(row), "| `--%s` |", opt->name);
		at = strstr(text, row);
		if (!at)
			fail_msg("docs/flags.md has no row starting '%s'", row);
		eol = strchr(at, '\n');
		if (eol)
			*eol = '\0';
		if (opt->def) {
			char def[64];

			snprintf(def, sizeof(def), "| `%s` |", opt->def);
			if (!strstr(at, def))
				fail_msg("docs/flags.md row of --%s lacks its default %s", opt->name,
					 def);
		}
		if (eol)
			*eol = '\n';
	}
	free(text);
}

static int setup(void **state)
{
	char host[256];

	(void)state;
	if (gethostname(host, sizeof(host)) < 0)
		return -1;
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0; host[i] && i + 1 < sizeof(hostname_lower); i++)
		hostname_lower[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse), cmocka_unit_test(test_ms_parse),
		cmocka_unit_test(test_bool_parse),     cmocka_unit_test(test_bind_parse),
		cmocka_unit_test(test_cidr_list),      cmocka_unit_test(test_argv),
		cmocka_unit_test(test_every_flag),     cmocka_unit_test(test_help),
		cmocka_unit_test(test_docs_table),
		cmocka_unit_test(test_plan_only_flags),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
