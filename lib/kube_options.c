/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The option table of `kipvs run` and `kipvs plan`, the command-line parser over it (kube-proxy
 * style: --flag value, --flag=value, booleans as --flag or --flag=false, -v N), the order
 * defaults < --config file < flags, the checks across settings, and --help generated from
 * the same table so that the help, the parser and docs/flags.md cannot drift apart.
 */
#include "kube_options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "kube_options_internal.h"
#include "log.h"
#include "plan.h"

#define KUBE_OPTIONS_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define KUBE_OPTIONS_HELP_COLUMN 34
#define KUBE_OPTIONS_HELP_WIDTH 100

static int kube_options_set_string(char **dst, const char *value, char *why, size_t why_size)
{
	if (!value[0]) {
		snprintf(why, why_size, "must not be empty");
		return -EINVAL;
	}
	return kube_options_string_set(dst, value);
}

static int kube_options_set_config(struct kube_options *o, const char *value, bool append,
				   char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_string(&o->config, value, why, why_size);
}

static int kube_options_set_kubeconfig(struct kube_options *o, const char *value, bool append,
				       char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_string(&o->kubeconfig, value, why, why_size);
}

static int kube_options_set_master(struct kube_options *o, const char *value, bool append,
				   char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_string(&o->master, value, why, why_size);
}

static int kube_options_set_from(struct kube_options *o, const char *value, bool append,
				 char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_string(&o->from, value, why, why_size);
}

static int kube_options_set_sync_timeout(struct kube_options *o, const char *value, bool append,
					 char *why, size_t why_size)
{
	uint64_t ms;
	int r;

	(void)append;
	r = kube_options_ms_parse(value, true, &ms, why, why_size);
	if (r < 0)
		return r;
	if (ms == 0) {
		snprintf(why, why_size, "must be greater than 0");
		return -EINVAL;
	}
	o->sync_timeout_ms = ms;
	return 0;
}

static int kube_options_set_hostname(struct kube_options *o, const char *value, bool append,
				     char *why, size_t why_size)
{
	char *name = NULL;
	int r;

	(void)append;
	r = kube_options_hostname_parse(value, &name, why, why_size);
	if (r < 0)
		return r;
	free(o->hostname);
	o->hostname = name;
	return 0;
}

static int kube_options_set_node_ip(struct kube_options *o, const char *value, bool append,
				    char *why, size_t why_size)
{
	_cleanup_free_ char *copy = strdup(value);
	char *item, *rest;

	if (!copy)
		return -ENOMEM;
	if (!append) {
		free(o->node_ips);
		o->node_ips = NULL;
		o->n_node_ips = 0;
	}
	for (rest = copy; (item = strsep(&rest, ",")) != NULL;) {
		struct net_addr addr, *grown;

		if (net_addr_parse(item, &addr) < 0) {
			snprintf(why, why_size, "'%.64s' is not an IP address", item);
			return -EINVAL;
		}
		grown = reallocarray(o->node_ips, o->n_node_ips + 1, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		o->node_ips = grown;
		o->node_ips[o->n_node_ips++] = addr;
	}
	return 0;
}

int kube_options_set_nodeport_addresses(struct kube_options *o, const char *value, bool append,
					char *why, size_t why_size)
{
	bool primary = strcmp(value, "primary") == 0;

	if (!append) {
		free(o->nodeport_cidrs);
		o->nodeport_cidrs = NULL;
		o->n_nodeport_cidrs = 0;
		o->nodeport_primary = false;
	}
	/*
	 * kube-proxy >= 1.29: the Node's primary addresses, which is also kipvs's default. As in
	 * kube-proxy, it must be the list's only item, before or after a CIDR.
	 */
	if ((primary && o->n_nodeport_cidrs > 0) || (!primary && o->nodeport_primary)) {
		snprintf(why, why_size, "'primary' cannot be mixed with CIDRs");
		return -EINVAL;
	}
	if (primary) {
		o->nodeport_primary = true;
		return 0;
	}
	return kube_options_cidr_list_add(&o->nodeport_cidrs, &o->n_nodeport_cidrs, value, why,
					  why_size);
}

static int kube_options_set_proxy_name(struct kube_options *o, const char *value, bool append,
				       char *why, size_t why_size)
{
	(void)append;
	if (!kube_options_label_value_is_valid(value)) {
		snprintf(why, why_size,
			 "a label value: 1 to 63 letters, digits, '-', '_' or '.', starting and "
			 "ending with a letter or digit");
		return -EINVAL;
	}
	return kube_options_string_set(&o->proxy_name, value);
}

int kube_options_set_scheduler(struct kube_options *o, const char *value, bool append, char *why,
			       size_t why_size)
{
	(void)append;
	/* kube-proxy reads an empty scheduler as its default. */
	if (!value[0])
		value = PLAN_SCHEDULER_DEFAULT;
	/* Any name the kernel might have: kipvs run asks the kernel at start (as kube-proxy). */
	if (!plan_scheduler_is_valid(value)) {
		snprintf(why, why_size,
			 "a scheduler name: 1 to %d letters, digits, '_' or '-' (rr, wrr, lc, wlc, "
			 "sh, mh, ...)",
			 PLAN_SCHEDULER_MAX - 1);
		return -EINVAL;
	}
	return kube_options_string_set(&o->scheduler, value);
}

int kube_options_set_cluster_cidr(struct kube_options *o, const char *value, bool append,
				  char *why, size_t why_size)
{
	int r;

	if (!append) {
		free(o->cluster_cidrs);
		o->cluster_cidrs = NULL;
		o->n_cluster_cidrs = 0;
	}
	r = kube_options_cidr_list_add(&o->cluster_cidrs, &o->n_cluster_cidrs, value, why,
				       why_size);
	if (r < 0)
		return r;
	return kube_options_cluster_cidrs_check(o, why, why_size);
}

static int kube_options_set_masquerade_all(struct kube_options *o, const char *value,
					   bool append, char *why, size_t why_size)
{
	(void)append;
	return kube_options_bool_parse(value, &o->masquerade_all, why, why_size);
}

static int kube_options_set_sync_period(struct kube_options *o, const char *value, bool append,
					char *why, size_t why_size)
{
	uint64_t ms;
	int r;

	(void)append;
	r = kube_options_ms_parse(value, false, &ms, why, why_size);
	if (r < 0)
		return r;
	if (ms == 0) {
		snprintf(why, why_size, "must be greater than 0");
		return -EINVAL;
	}
	o->sync_period_ms = ms;
	return 0;
}

static int kube_options_set_ms(uint64_t *dst, const char *value, bool bare_seconds, char *why,
			       size_t why_size)
{
	uint64_t ms;
	int r;

	r = kube_options_ms_parse(value, bare_seconds, &ms, why, why_size);
	if (r < 0)
		return r;
	*dst = ms;
	return 0;
}

static int kube_options_set_min_sync_period(struct kube_options *o, const char *value,
					    bool append, char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_ms(&o->min_sync_period_ms, value, false, why, why_size);
}

static int kube_options_set_exclude_cidrs(struct kube_options *o, const char *value, bool append,
					  char *why, size_t why_size)
{
	if (!append) {
		free(o->exclude_cidrs);
		o->exclude_cidrs = NULL;
		o->n_exclude_cidrs = 0;
	}
	return kube_options_cidr_list_add(&o->exclude_cidrs, &o->n_exclude_cidrs, value, why,
					  why_size);
}

static int kube_options_set_strict_arp(struct kube_options *o, const char *value, bool append,
				       char *why, size_t why_size)
{
	(void)append;
	return kube_options_bool_parse(value, &o->strict_arp, why, why_size);
}

static int kube_options_set_tcp_timeout(struct kube_options *o, const char *value, bool append,
					char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_ms(&o->tcp_timeout_ms, value, false, why, why_size);
}

static int kube_options_set_tcpfin_timeout(struct kube_options *o, const char *value,
					   bool append, char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_ms(&o->tcpfin_timeout_ms, value, false, why, why_size);
}

static int kube_options_set_udp_timeout(struct kube_options *o, const char *value, bool append,
					char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_ms(&o->udp_timeout_ms, value, false, why, why_size);
}

static int kube_options_set_healthz(struct kube_options *o, const char *value, bool append,
				    char *why, size_t why_size)
{
	(void)append;
	return kube_options_bind_parse(value, KUBE_OPTIONS_HEALTHZ_PORT, &o->healthz, why,
				       why_size);
}

static int kube_options_set_metrics(struct kube_options *o, const char *value, bool append,
				    char *why, size_t why_size)
{
	(void)append;
	return kube_options_bind_parse(value, KUBE_OPTIONS_METRICS_PORT, &o->metrics, why,
				       why_size);
}

static int kube_options_set_dummy_interface(struct kube_options *o, const char *value,
					    bool append, char *why, size_t why_size)
{
	size_t len = strlen(value);

	(void)append;
	if (len == 0 || len > KUBE_OPTIONS_IFNAME_MAX || strcmp(value, ".") == 0 ||
	    strcmp(value, "..") == 0 || strpbrk(value, "/:")) {
		snprintf(why, why_size, "an interface name has 1 to %d characters, no '/' or ':'",
			 KUBE_OPTIONS_IFNAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)value[i])) {
			snprintf(why, why_size, "an interface name has no spaces or controls");
			return -EINVAL;
		}
	return kube_options_string_set(&o->dummy_interface, value);
}

static int kube_options_set_drain_timeout(struct kube_options *o, const char *value, bool append,
					  char *why, size_t why_size)
{
	(void)append;
	return kube_options_set_ms(&o->drain_timeout_ms, value, true, why, why_size);
}

static int kube_options_set_once(struct kube_options *o, const char *value, bool append,
				 char *why, size_t why_size)
{
	(void)append;
	return kube_options_bool_parse(value, &o->once, why, why_size);
}

static int kube_options_set_diff(struct kube_options *o, const char *value, bool append,
				 char *why, size_t why_size)
{
	(void)append;
	return kube_options_bool_parse(value, &o->diff, why, why_size);
}

static int kube_options_set_verbosity(struct kube_options *o, const char *value, bool append,
				      char *why, size_t why_size)
{
	char *end = NULL;
	long v;

	(void)append;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || !value[0] || *end || v < 0 || v > INT_MAX) {
		snprintf(why, why_size, "want a number from 0");
		return -EINVAL;
	}
	o->verbosity = (int)v;
	return 0;
}

/* cleanup accepts run's flags, so that it can be given the same command line as run. */
#define CMD_RUN (KUBE_OPTIONS_CMD_RUN | KUBE_OPTIONS_CMD_CLEANUP)
#define CMD_BOTH (CMD_RUN | KUBE_OPTIONS_CMD_PLAN)

const struct kube_option kube_options_table[] = {
	{ "config", "FILE", CMD_BOTH, NULL,
	  "read settings from a kube-proxy KubeProxyConfiguration file (YAML or JSON); flags "
	  "override it",
	  kube_options_set_config },
	{ "kubeconfig", "FILE", CMD_BOTH, NULL,
	  "read from the API server named in this kubeconfig (none: the pod's service account)",
	  kube_options_set_kubeconfig },
	{ "master", "URL", CMD_BOTH, NULL, "the API server's URL (overrides the kubeconfig's)",
	  kube_options_set_master },
	{ "from", "PATH", CMD_BOTH, NULL,
	  "read Services, EndpointSlices and Nodes from a file or directory (JSON or YAML) "
	  "instead of the API server",
	  kube_options_set_from },
	{ "sync-timeout", "DURATION", CMD_BOTH, "30s",
	  "wait this long for the first full list from the source", kube_options_set_sync_timeout },
	{ "hostname-override", "NAME", CMD_BOTH, NULL, "this node's name (default: the host name)",
	  kube_options_set_hostname },
	{ "node-ip", "IP", CMD_BOTH, NULL,
	  "an address of this node for NodePort virtual servers (repeatable or comma-separated; "
	  "default: the Node object's primary addresses)",
	  kube_options_set_node_ip },
	{ "nodeport-addresses", "CIDRS", CMD_BOTH, NULL,
	  "accept NodePorts only on this node's addresses inside these comma-separated CIDRs "
	  "(run: the interfaces', plan: the Node object's; 'primary' or none: per IP family the "
	  "Node's first InternalIP, else its first ExternalIP)",
	  kube_options_set_nodeport_addresses },
	{ "service-proxy-name", "NAME", CMD_BOTH, NULL,
	  "handle the Services labelled service.kubernetes.io/service-proxy-name=NAME (none: "
	  "those without the label)",
	  kube_options_set_proxy_name },
	{ "ipvs-scheduler", "NAME", CMD_BOTH, PLAN_SCHEDULER_DEFAULT,
	  "the IPVS scheduler of every virtual server", kube_options_set_scheduler },
	{ "cluster-cidr", "CIDRS", CMD_RUN, NULL,
	  "the pods' CIDR, one per IP family, comma-separated: Service traffic from outside it is "
	  "masqueraded",
	  kube_options_set_cluster_cidr },
	{ "masquerade-all", NULL, CMD_RUN, "false",
	  "masquerade (SNAT) all traffic sent to Service addresses",
	  kube_options_set_masquerade_all },
	{ "ipvs-sync-period", "DURATION", CMD_RUN, KUBE_OPTIONS_SYNC_PERIOD_DEFAULT,
	  "how often the whole IPVS table is compared with the kernel's and repaired",
	  kube_options_set_sync_period },
	{ "ipvs-min-sync-period", "DURATION", CMD_RUN, "0s",
	  "the shortest time between two applies of changes (0: apply each change at once)",
	  kube_options_set_min_sync_period },
	{ "ipvs-exclude-cidrs", "CIDRS", CMD_RUN, NULL,
	  "never touch virtual servers inside these comma-separated CIDRs when cleaning up",
	  kube_options_set_exclude_cidrs },
	{ "ipvs-strict-arp", NULL, CMD_RUN, "false",
	  "set arp_ignore=1 and arp_announce=2 so that the node does not answer ARP for the "
	  "virtual addresses",
	  kube_options_set_strict_arp },
	{ "ipvs-tcp-timeout", "DURATION", CMD_RUN, "0s",
	  "IPVS timeout of idle TCP connections (0: leave the kernel's)",
	  kube_options_set_tcp_timeout },
	{ "ipvs-tcpfin-timeout", "DURATION", CMD_RUN, "0s",
	  "IPVS timeout of TCP connections after a FIN (0: leave the kernel's)",
	  kube_options_set_tcpfin_timeout },
	{ "ipvs-udp-timeout", "DURATION", CMD_RUN, "0s",
	  "IPVS timeout of UDP flows (0: leave the kernel's)", kube_options_set_udp_timeout },
	{ "healthz-bind-address", "IP:PORT", CMD_RUN, "0.0.0.0:10256",
	  "serve /healthz and /livez here ('' or port 0: off)", kube_options_set_healthz },
	{ "metrics-bind-address", "IP:PORT", CMD_RUN, "127.0.0.1:10249",
	  "serve /metrics here ('' or port 0: off)", kube_options_set_metrics },
	{ "dummy-interface", "NAME", CMD_RUN, "kube-ipvs0",
	  "the dummy interface that holds the virtual addresses",
	  kube_options_set_dummy_interface },
	{ "ipvs-drain-timeout", "DURATION", CMD_BOTH, "5m0s",
	  "how long a removed endpoint stays at weight 0 so that its connections can finish",
	  kube_options_set_drain_timeout },
	{ "once", NULL, CMD_RUN, "false",
	  "do one full sync of IPVS, print a one-line summary and exit (0: the kernel matches)",
	  kube_options_set_once },
	{ "diff", NULL, KUBE_OPTIONS_CMD_PLAN, "false",
	  "print the operations a sync would make on this node's IPVS table, as `ipvsadm -R` "
	  "lines, instead of the table (needs root)",
	  kube_options_set_diff },
	{ "v", "N", CMD_BOTH, "0", "log verbosity (1 or more adds debug lines)",
	  kube_options_set_verbosity },
};

const size_t kube_options_table_size = ARRAY_SIZE(kube_options_table);

static const char *kube_options_cmd_to_string(enum kube_options_cmd cmd)
{
	switch (cmd) {
	case KUBE_OPTIONS_CMD_RUN:
		return "run";
	case KUBE_OPTIONS_CMD_PLAN:
		return "plan";
	case KUBE_OPTIONS_CMD_CLEANUP:
		return "cleanup";
	}
	return "?";
}

static const struct kube_option *kube_options_find(const char *name, size_t len)
{
	for (size_t i = 0; i < kube_options_table_size; i++)
		if (strlen(kube_options_table[i].name) == len &&
		    memcmp(kube_options_table[i].name, name, len) == 0)
			return &kube_options_table[i];
	return NULL;
}

static int __attribute__((format(printf, 3, 4)))
kube_options_fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Walks argv once. With apply false it checks the syntax and applies --config, -v and -h
 * only; with apply true it applies every flag but --config. seen[] (one per table row) tells a
 * repeated flag's later uses from its first.
 */
static int kube_options_walk(struct kube_options *o, enum kube_options_cmd cmd, int argc,
			     char **argv, bool apply, bool *seen, char *err, size_t err_size)
{
	const char *cmd_name = kube_options_cmd_to_string(cmd);

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value = NULL, *eq;
		const struct kube_option *opt;
		char why[KUBE_OPTIONS_WHY_MAX] = "";
		size_t name_len;
		int r;

		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc)
				return kube_options_fail(err, err_size,
							 "kipvs %s: unexpected argument '%s'",
							 cmd_name, argv[i + 1]);
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			return kube_options_fail(err, err_size, "kipvs %s: unexpected argument '%s'",
						 cmd_name, arg);
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			o->help = true;
			continue;
		}
		if (arg[1] == '-') {
			name = arg + 2;
			eq = strchr(name, '=');
			name_len = eq ? (size_t)(eq - name) : strlen(name);
			if (eq)
				value = eq + 1;
		} else if (arg[1] == 'v') {
			/* klog's short form: -v N, -v=N, -vN. */
			name = "v";
			name_len = 1;
			if (arg[2] == '=')
				value = arg + 3;
			else if (arg[2])
				value = arg + 2;
		} else {
			return kube_options_fail(err, err_size, "kipvs %s: unknown option '%s'",
						 cmd_name, arg);
		}
		opt = kube_options_find(name, name_len);
		if (!opt || (opt->cmds & cmd) == 0) {
			if (opt)
				return kube_options_fail(
				    err, err_size,
				    "kipvs %s: unknown option '%s' (it applies to kipvs %s)",
				    cmd_name, arg,
				    kube_options_cmd_to_string(opt->cmds & KUBE_OPTIONS_CMD_RUN
								   ? KUBE_OPTIONS_CMD_RUN
								   : KUBE_OPTIONS_CMD_PLAN));
			return kube_options_fail(err, err_size, "kipvs %s: unknown option '%s'",
						 cmd_name, arg);
		}
		if (!value) {
			if (!opt->arg)
				value = "true";
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return kube_options_fail(err, err_size, "kipvs %s: %s needs a value",
							 cmd_name, arg);
		}
		if (apply ? opt->set == kube_options_set_config
			  : opt->set != kube_options_set_config &&
				    opt->set != kube_options_set_verbosity)
			continue;
		r = opt->set(o, value, seen[opt - kube_options_table], why, sizeof(why));
		seen[opt - kube_options_table] = true;
		if (r == -EINVAL)
			return kube_options_fail(err, err_size,
						 "kipvs: invalid value \"%s\" for --%s: %s", value,
						 opt->name, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Applies every default of the table (so that --help shows what is applied). */
static int kube_options_defaults(struct kube_options *o)
{
	for (size_t i = 0; i < kube_options_table_size; i++) {
		const struct kube_option *opt = &kube_options_table[i];
		char why[KUBE_OPTIONS_WHY_MAX];
		int r;

		if (!opt->def)
			continue;
		r = opt->set(o, opt->def, false, why, sizeof(why));
		/* A default the setter refuses is a bug in the table. */
		if (r == -EINVAL)
			return -EFAULT;
		if (r < 0)
			return r;
	}
	return 0;
}

static int kube_options_default_hostname(struct kube_options *o, char *err, size_t err_size)
{
	char host[HOST_NAME_MAX + 1], why[KUBE_OPTIONS_WHY_MAX];
	int r;

	if (gethostname(host, sizeof(host)) < 0)
		return kube_options_fail(err, err_size, "kipvs: cannot read the host name (%s); "
				       "pass --hostname-override",
				       strerror(errno));
	host[sizeof(host) - 1] = '\0';
	r = kube_options_hostname_parse(host, &o->hostname, why, sizeof(why));
	if (r == -EINVAL)
		return kube_options_fail(err, err_size,
					 "kipvs: the host name \"%s\" is no node name (%s); pass "
					 "--hostname-override",
					 host, why);
	return r;
}

static const char *kube_options_ms_format(uint64_t ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
	return buf;
}

/* The checks across settings, after the file and the flags. */
static int kube_options_finalize(struct kube_options *o, enum kube_options_cmd cmd,
				 const bool *seen, char *err, size_t err_size)
{
	char a[32], b[32];

	if (o->min_sync_period_ms > o->sync_period_ms)
		return kube_options_fail(err, err_size,
					 "kipvs: invalid value \"%s\" for --ipvs-sync-period: must "
					 "not be shorter than --ipvs-min-sync-period (%s)%s%s%s",
					 kube_options_ms_format(o->sync_period_ms, a, sizeof(a)),
					 kube_options_ms_format(o->min_sync_period_ms, b, sizeof(b)),
					 o->config ? " (ipvs.syncPeriod and ipvs.minSyncPeriod in " : "",
					 o->config ? o->config : "", o->config ? ")" : "");
	if (o->from) {
		const struct kube_option *kc = kube_options_find("kubeconfig", 10);
		const struct kube_option *m = kube_options_find("master", 6);

		if (seen[kc - kube_options_table] || seen[m - kube_options_table])
			return kube_options_fail(err, err_size,
						 "kipvs %s: --from and --kubeconfig or --master "
						 "exclude each other",
						 kube_options_cmd_to_string(cmd));
		/* --from on the command line overrides the file's clientConnection.kubeconfig. */
		free(o->kubeconfig);
		o->kubeconfig = NULL;
	}
	if (!o->hostname)
		return kube_options_default_hostname(o, err, err_size);
	return 0;
}

int kube_options_parse(struct kube_options *opts, enum kube_options_cmd cmd, int argc,
		       char **argv, char *err, size_t err_size)
{
	_cleanup_free_ bool *seen = calloc(kube_options_table_size, sizeof(*seen));
	int r;

	if (!seen)
		return -ENOMEM;
	err[0] = '\0';
	r = kube_options_defaults(opts);
	if (r < 0)
		return r;
	r = kube_options_walk(opts, cmd, argc, argv, false, seen, err, err_size);
	if (r < 0 || opts->help)
		return r;
	if (opts->config) {
		/* -v on the command line already shows the reader's debug lines. */
		if (seen[kube_options_find("v", 1) - kube_options_table])
			log_set_verbosity(opts->verbosity);
		r = kube_options_file_load(opts, opts->config, err, err_size);
		if (r < 0)
			return r;
	}
	memset(seen, 0, kube_options_table_size * sizeof(*seen));
	r = kube_options_walk(opts, cmd, argc, argv, true, seen, err, err_size);
	if (r < 0)
		return r;
	return kube_options_finalize(opts, cmd, seen, err, err_size);
}

void kube_options_clear(struct kube_options *opts)
{
	free(opts->config);
	free(opts->kubeconfig);
	free(opts->master);
	free(opts->from);
	free(opts->hostname);
	free(opts->node_ips);
	free(opts->nodeport_cidrs);
	free(opts->proxy_name);
	free(opts->cluster_cidrs);
	free(opts->scheduler);
	free(opts->exclude_cidrs);
	free(opts->dummy_interface);
	memset(opts, 0, sizeof(*opts));
}

/* Writes text from column col, wrapped at KUBE_OPTIONS_HELP_WIDTH, then a newline. */
static void kube_options_help_wrap(FILE *out, const char *text, int col)
{
	int at = col;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (at > col && at + 1 + (int)word > KUBE_OPTIONS_HELP_WIDTH) {
			fprintf(out, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', out);
			at++;
		}
		fwrite(text, 1, word, out);
		at += (int)word;
		text += word;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

void kube_options_help_write(FILE *out, enum kube_options_cmd cmd)
{
	for (size_t i = 0; i < kube_options_table_size; i++) {
		const struct kube_option *opt = &kube_options_table[i];
		char left[64], text[320];
		int n;

		if ((opt->cmds & cmd) == 0)
			continue;
		if (strcmp(opt->name, "v") == 0)
			n = snprintf(left, sizeof(left), "  -v, --v %s", opt->arg);
		else
			n = snprintf(left, sizeof(left), "  --%s%s%s", opt->name, opt->arg ? " " : "",
				     opt->arg ? opt->arg : "");
		fputs(left, out);
		if (n + 1 > KUBE_OPTIONS_HELP_COLUMN)
			fprintf(out, "\n%*s", KUBE_OPTIONS_HELP_COLUMN, "");
		else
			fprintf(out, "%*s", KUBE_OPTIONS_HELP_COLUMN - n, "");
		if (opt->def && opt->arg)
			snprintf(text, sizeof(text), "%s (default %s)", opt->help, opt->def);
		else
			snprintf(text, sizeof(text), "%s", opt->help);
		kube_options_help_wrap(out, text, KUBE_OPTIONS_HELP_COLUMN);
	}
	fprintf(out, "  -h, --help%*sshow this help\n", KUBE_OPTIONS_HELP_COLUMN - 12, "");
}
