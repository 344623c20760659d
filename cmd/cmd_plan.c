/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs plan: loads the objects (from files, or from the API server), computes the IPVS table
 * this node should have, and prints it as `ipvsadm -Sn` lines, so an operator can see what
 * kipvs would do before it does it. Objects it skipped or could not use go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "cleanup.h"
#include "cmd.h"
#include "kube_cache.h"
#include "kube_client.h"
#include "kube_source.h"
#include "log.h"
#include "net_addr.h"
#include "plan.h"

#define PLAN_SYNC_TIMEOUT_DEFAULT 30

struct plan_opts {
	const char *from;
	const char *kubeconfig;
	const char *master;
	char hostname[HOST_NAME_MAX + 1];
	struct net_addr *node_ips;
	size_t n_node_ips;
	struct net_prefix *cidrs;
	size_t n_cidrs;
	const char *scheduler;
	const char *proxy_name;
	unsigned sync_timeout; /* seconds */
};

static void plan_opts_clear(struct plan_opts *o)
{
	free(o->node_ips);
	free(o->cidrs);
}

static void plan_usage(FILE *stream)
{
	fprintf(stream,
		"Usage: kipvs plan [OPTIONS]\n"
		"\n"
		"Prints the IPVS table this node should have, as `ipvsadm -Sn` lines\n"
		"(so `kipvs plan ... | ipvsadm -R` builds it). Skipped objects go to stderr.\n"
		"\n"
		"  --from PATH                 read Services, EndpointSlices and Nodes from a file\n"
		"                              or directory (kubectl List JSON) instead of the API\n"
		"  --kubeconfig FILE           read them from the API server named in FILE\n"
		"                              (neither --from nor --kubeconfig: in-cluster config)\n"
		"  --master URL                the API server's URL (overrides the kubeconfig's)\n"
		"  --sync-timeout SECONDS      wait this long for the initial list (default 30)\n"
		"  --hostname-override NAME    this node's name (default: the host name)\n"
		"  --node-ip IP                a NodePort address of this node (repeatable;\n"
		"                              default: the Node object's InternalIP addresses)\n"
		"  --nodeport-addresses CIDRS  keep only node addresses inside these CIDRs\n"
		"  --ipvs-scheduler NAME       IPVS scheduler (default rr)\n"
		"  --service-proxy-name NAME   also handle Services labelled\n"
		"                              service.kubernetes.io/service-proxy-name=NAME\n"
		"  -h, --help                  show this help\n"
		"\n"
		"Exit status: 0 success, 1 the source cannot be read or the sync timed out,\n"
		"2 usage error.\n");
}

static int plan_opt_node_ip(struct plan_opts *o, const char *text)
{
	struct net_addr addr, *v;

	if (net_addr_parse(text, &addr) < 0) {
		fprintf(stderr, "kipvs plan: --node-ip: '%s' is not an IP address\n", text);
		return -EINVAL;
	}
	v = reallocarray(o->node_ips, o->n_node_ips + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->node_ips = v;
	o->node_ips[o->n_node_ips++] = addr;
	return 0;
}

static int plan_opt_cidrs(struct plan_opts *o, const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct net_prefix prefix, *v;

		/* A bare address is not a CIDR here: kube-proxy requires the prefix length. */
		if (!strchr(tok, '/') || net_prefix_parse(tok, &prefix) < 0) {
			fprintf(stderr, "kipvs plan: --nodeport-addresses: '%s' is not a CIDR\n",
				tok);
			return -EINVAL;
		}
		v = reallocarray(o->cidrs, o->n_cidrs + 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->cidrs = v;
		o->cidrs[o->n_cidrs++] = prefix;
	}
	if (o->n_cidrs == 0) {
		fprintf(stderr, "kipvs plan: --nodeport-addresses: no CIDR given\n");
		return -EINVAL;
	}
	return 0;
}

/* Seconds, with an optional "s" suffix ("30", "30s"); 1 to 86400. */
static int plan_opt_seconds(const char *flag, const char *text, unsigned *ret)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (end && *end == 's')
		end++;
	if (errno || end == text || *end || text[0] == '-' || v == 0 || v > 86400) {
		fprintf(stderr, "kipvs plan: %s: '%s' is not a number of seconds (1-86400)\n", flag,
			text);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int plan_default_hostname(struct plan_opts *o)
{
	if (gethostname(o->hostname, sizeof(o->hostname)) < 0)
		return -errno;
	o->hostname[sizeof(o->hostname) - 1] = '\0';
	/* Node names are lower case; kube-proxy lowers the host name the same way. */
	for (char *c = o->hostname; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return 0;
}

/* Fills o from argv. 0, -EINVAL (message printed; exit 2) or -ENOMEM. */
static int plan_parse(int argc, char **argv, struct plan_opts *o)
{
	enum {
		OPT_FROM = 0x100,
		OPT_KUBECONFIG,
		OPT_MASTER,
		OPT_SYNC_TIMEOUT,
		OPT_HOSTNAME,
		OPT_NODE_IP,
		OPT_NODEPORT_ADDRESSES,
		OPT_SCHEDULER,
		OPT_PROXY_NAME,
	};
	static const struct option options[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "master", required_argument, NULL, OPT_MASTER },
		{ "sync-timeout", required_argument, NULL, OPT_SYNC_TIMEOUT },
		{ "hostname-override", required_argument, NULL, OPT_HOSTNAME },
		{ "node-ip", required_argument, NULL, OPT_NODE_IP },
		{ "nodeport-addresses", required_argument, NULL, OPT_NODEPORT_ADDRESSES },
		{ "ipvs-scheduler", required_argument, NULL, OPT_SCHEDULER },
		{ "service-proxy-name", required_argument, NULL, OPT_PROXY_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_hostname = false;
	int c, r;

	o->sync_timeout = PLAN_SYNC_TIMEOUT_DEFAULT;
	o->scheduler = PLAN_SCHEDULER_DEFAULT;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FROM:
			o->from = optarg;
			break;
		case OPT_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case OPT_MASTER:
			o->master = optarg;
			break;
		case OPT_SYNC_TIMEOUT:
			r = plan_opt_seconds("--sync-timeout", optarg, &o->sync_timeout);
			if (r < 0)
				return r;
			break;
		case OPT_HOSTNAME:
			if (!optarg[0] || strlen(optarg) > HOST_NAME_MAX) {
				fprintf(stderr, "kipvs plan: --hostname-override: empty or too long\n");
				return -EINVAL;
			}
			(void)snprintf(o->hostname, sizeof(o->hostname), "%s", optarg);
			have_hostname = true;
			break;
		case OPT_NODE_IP:
			r = plan_opt_node_ip(o, optarg);
			if (r < 0)
				return r;
			break;
		case OPT_NODEPORT_ADDRESSES:
			r = plan_opt_cidrs(o, optarg);
			if (r < 0)
				return r;
			break;
		case OPT_SCHEDULER:
			if (!plan_scheduler_is_valid(optarg)) {
				fprintf(stderr, "kipvs plan: --ipvs-scheduler: unknown scheduler '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->scheduler = optarg;
			break;
		case OPT_PROXY_NAME:
			if (!optarg[0]) {
				fprintf(stderr, "kipvs plan: --service-proxy-name: empty\n");
				return -EINVAL;
			}
			o->proxy_name = optarg;
			break;
		case ':':
			fprintf(stderr, "kipvs plan: %s needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "kipvs plan: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kipvs plan: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->from && (o->kubeconfig || o->master)) {
		fprintf(stderr, "kipvs plan: --from and --kubeconfig or --master exclude each other\n");
		return -EINVAL;
	}
	if (!have_hostname) {
		r = plan_default_hostname(o);
		if (r < 0) {
			fprintf(stderr, "kipvs plan: cannot read the host name: %s\n", strerror(-r));
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The API source (lib/kube_client.h): lists the three kinds through a private loop until all
 * are synced or --sync-timeout passes. Reports its failure on stderr; returns 0 or -errno.
 */
static int plan_source_api(const struct plan_opts *o, struct kube_cache *cache)
{
	struct kube_client_options copts = {
		.kubeconfig = o->kubeconfig,
		.master = o->master,
		.node_name = o->hostname,
		.proxy_name = o->proxy_name,
	};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct kube_client *client = NULL;
	char err[512];
	int r;

	if (!loop)
		return -ENOMEM;
	r = kube_client_new(loop, cache, &copts, &client, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs plan: %s\n", err);
	} else {
		r = kube_client_start(client);
		if (r == 0)
			r = kube_client_run_until_synced(client, o->sync_timeout * 1000u);
		if (r == -ETIMEDOUT)
			fprintf(stderr, "kipvs plan: not synced with the API server after %us\n",
				o->sync_timeout);
		else if (r < 0)
			fprintf(stderr, "kipvs plan: API client: %s\n", strerror(-r));
	}
	client = kube_client_free(client);
	ev_loop_destroy(loop);
	return r;
}

/*
 * The seam between the command and its sources: fills the cache from --from files or from the
 * API server, and returns 0 once the initial state is complete, or a negative errno (the
 * failure is reported here; the command exits 1).
 */
static int plan_source_fill(const struct plan_opts *o, struct kube_cache *cache)
{
	int r;

	if (!o->from)
		return plan_source_api(o, cache);
	r = kube_source_load(cache, o->from, o->proxy_name);
	if (r == -EBADMSG) {
		/* Each unparsable file was logged; the plan of the others would be partial. */
		fprintf(stderr, "kipvs plan: %s: some files could not be parsed\n", o->from);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs plan: %s: %s\n", o->from, strerror(-r));
		return r;
	}
	return 0;
}

static void plan_on_note(const struct plan_note *note, void *userdata)
{
	char detail[320];
	const char *key = note->object_kind == KUBE_KIND_SERVICE ? "svc" : "slice";

	(void)userdata;
	log_write(LOG_LEVEL_INFO, "plan", plan_note_kind_to_string(note->kind),
		  "kind=%s %s=%s/%s detail=%s", kube_kind_to_string(note->object_kind), key,
		  note->ns, note->name, log_quote(detail, sizeof(detail), note->detail));
}

static void plan_cache_freep(struct kube_cache **cache)
{
	(void)kube_cache_free(*cache);
}

/* Loads, plans and prints; returns the exit status. */
static int plan_run(const struct plan_opts *o)
{
	_cleanup_(plan_cache_freep) struct kube_cache *cache = NULL;
	_cleanup_(plan_table_clear) struct plan_table table = { 0 };
	_cleanup_free_ struct net_addr *node_addrs = NULL;
	int n_addrs;

	cache = kube_cache_new();
	if (!cache || kube_cache_set_node_name(cache, o->hostname) < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (plan_source_fill(o, cache) < 0)
		return EXIT_RUNTIME;

	n_addrs = plan_node_addrs_resolve(o->node_ips, o->n_node_ips, kube_cache_get_node(cache),
					  o->cidrs, o->n_cidrs, &node_addrs);
	if (n_addrs < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (n_addrs == 0)
		log_write(LOG_LEVEL_WARN, "plan", "no node address: no NodePort virtual server",
			  "node=%s hint=\"pass --node-ip, or include this node's Node object\"",
			  o->hostname);

	const struct plan_input in = {
		.cache = cache,
		.node_name = o->hostname,
		.node_addrs = node_addrs,
		.n_node_addrs = (size_t)n_addrs,
		.scheduler = o->scheduler,
		.proxy_name = o->proxy_name,
		.note = plan_on_note,
	};
	if (plan_build(&in, &table) < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (plan_table_write(&table, stdout) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "kipvs plan: cannot write the plan: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_plan_main(int argc, char **argv)
{
	_cleanup_(plan_opts_clear) struct plan_opts o = { 0 };
	int r;

	if (cmd_wants_help(argc, argv)) {
		plan_usage(stdout);
		return EXIT_OK;
	}
	r = plan_parse(argc, argv, &o);
	if (r == -EINVAL) {
		fprintf(stderr, "Try 'kipvs plan --help'.\n");
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs plan: out of memory\n");
		return EXIT_RUNTIME;
	}
	return plan_run(&o);
}
