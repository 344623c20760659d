/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for health/: runs the health service on a libev loop and takes commands on stdin,
 * one per line, answering each with one line on stdout ("ok ..." or "err ..."), so a script can
 * push state the way the daemon will and then probe the HTTP servers with a real client.
 *
 *   load PATH            read manifests (--from style) and push what the daemon would: node
 *                        eligibility and, per Service, healthCheckNodePort and local ready
 *                        endpoints (health_local_endpoints_count); vanished Services closed
 *   queued SECONDS_AGO   a change queued that long ago
 *   synced               a sync that finished now
 *   eligible 0|1         node eligibility
 *   svc NS NAME PORT N   health_service_set      delete NS NAME   health_service_delete
 *   listening NS NAME    "ok yes" / "ok no"
 *   sample               push a fixed set of metrics (changes, netlink, ...); from then on each
 *                        scrape's hook pushes fixed per-VS statistics (kube-dns's connection
 *                        count is 1 + the scrapes before)
 *   quit
 *
 * Startup prints "ready healthz=PORT metrics=PORT".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "health.h"
#include "kube.h"

struct driver {
	struct ev_loop *loop;
	struct health *h;
	const char *node_name;
	ev_io in;
	char buf[4096];
	size_t len;
	char **svcs; /* "ns/name" pushed by the last load */
	size_t n_svcs;
	bool vs_sample;	 /* after `sample`: the scrape hook pushes the per-VS statistics */
	unsigned scrapes; /* the scrape hook's calls */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct slices {
	const struct kube_endpoint_slice *v[64];
	size_t n;
};

static int collect_slice(const struct kube_endpoint_slice *slice, void *userdata)
{
	struct slices *s = userdata;

	if (s->n < 64)
		s->v[s->n++] = slice;
	return 0;
}

struct load_ctx {
	struct driver *d;
	const struct kube_cache *cache;
	char **seen;
	size_t n_seen;
	int err;
};

static int push_service(const struct kube_service *svc, void *userdata)
{
	struct load_ctx *ctx = userdata;
	struct slices s = {.n = 0};
	int n;

	(void)kube_cache_foreach_slice_of(ctx->cache, svc->meta.namespace, svc->meta.name,
					  collect_slice, &s);
	n = health_local_endpoints_count(svc, s.v, s.n, ctx->d->node_name);
	if (n < 0 || health_service_set(ctx->d->h, svc->meta.namespace, svc->meta.name,
					svc->health_check_node_port, (unsigned)n) < 0) {
		ctx->err = -ENOMEM;
		return 1;
	}
	if (svc->health_check_node_port &&
	    asprintf(&ctx->seen[ctx->n_seen++], "%s/%s", svc->meta.namespace, svc->meta.name) < 0)
		abort();
	printf("svc %s/%s port=%u local=%d\n", svc->meta.namespace, svc->meta.name,
	       svc->health_check_node_port, n);
	return 0;
}

static void cmd_load(struct driver *d, const char *path)
{
	struct kube_cache *cache = kube_cache_new();
	struct load_ctx ctx = {.d = d, .cache = cache};
	int r;

	if (!cache || kube_cache_set_node_name(cache, d->node_name) < 0)
		abort();
	r = kube_source_load(cache, path, NULL);
	if (r < 0) {
		printf("err load %s\n", strerror(-r));
		kube_cache_free(cache);
		return;
	}
	ctx.seen = calloc(kube_cache_count_services(cache) + 1, sizeof(char *));
	if (!ctx.seen)
		abort();
	health_node_eligible_set(d->h, health_node_is_eligible(kube_cache_get_node(cache)));
	(void)kube_cache_foreach_service(cache, push_service, &ctx);
	/* Services that were there last time and are gone now. */
	for (size_t i = 0; i < d->n_svcs; i++) {
		bool kept = false;
		char *slash = strchr(d->svcs[i], '/');

		for (size_t j = 0; j < ctx.n_seen; j++)
			kept = kept || strcmp(d->svcs[i], ctx.seen[j]) == 0;
		if (!kept && slash) {
			*slash = '\0';
			health_service_delete(d->h, d->svcs[i], slash + 1);
		}
		free(d->svcs[i]);
	}
	free(d->svcs);
	d->svcs = ctx.seen;
	d->n_svcs = ctx.n_seen;
	kube_cache_free(cache);
	printf(ctx.err ? "err load\n" : "ok load\n");
}

/* The on_scrape hook: what the daemon reads from the kernel at each scrape. */
static void on_scrape(void *userdata)
{
	struct driver *d = userdata;
	struct health_vs_stats st[2] = {
	    {.svc_namespace = "kube-system",
	     .svc_name = "kube-dns",
	     .port_name = "dns",
	     .proto = KUBE_PROTO_UDP,
	     .port = 53,
	     .conns = 7,
	     .inpkts = 70,
	     .outpkts = 69,
	     .inbytes = 7000,
	     .outbytes = 9007199254740993ULL},
	    {.svc_namespace = "default",
	     .svc_name = "we\"ird",
	     .port_name = "",
	     .proto = KUBE_PROTO_TCP,
	     .port = 80,
	     .conns = 1 + d->scrapes},
	};

	d->scrapes++;
	if (!d->vs_sample)
		return;
	if (net_addr_parse("10.96.0.10", &st[0].addr) < 0 ||
	    net_addr_parse("fd00::10", &st[1].addr) < 0 || health_vs_stats_set(d->h, st, 2) < 0)
		abort();
}

static void cmd_sample(struct driver *d)
{
	int64_t now = now_ns();

	health_change_queued(d->h, HEALTH_CHANGE_SERVICE, now);
	health_change_queued(d->h, HEALTH_CHANGE_ENDPOINTS, now);
	health_changes_pending_set(d->h, 1, 1);
	health_synced(d->h, now - 12000000LL, now);
	health_network_programming_observe(d->h, now - 1500000000LL, now);
	health_no_local_endpoints_set(d->h, 0, 3);
	health_netlink_op(d->h, "add_service", 0);
	health_netlink_op(d->h, "add_dest", -EEXIST);
	health_draining_set(d->h, 2);
	d->vs_sample = true;
	printf("ok sample\n");
}

static void run_command(struct driver *d, char *line)
{
	char a[256], b[256];
	unsigned port, n;
	double secs;
	int v;

	if (sscanf(line, "load %255s", a) == 1) {
		cmd_load(d, a);
	} else if (sscanf(line, "queued %lf", &secs) == 1) {
		health_change_queued(d->h, HEALTH_CHANGE_ENDPOINTS,
				     now_ns() - (int64_t)(secs * 1e9));
		printf("ok queued\n");
	} else if (strcmp(line, "synced") == 0) {
		int64_t now = now_ns();

		health_synced(d->h, now - 1000000, now);
		printf("ok synced\n");
	} else if (sscanf(line, "eligible %d", &v) == 1) {
		health_node_eligible_set(d->h, v != 0);
		printf("ok eligible\n");
	} else if (sscanf(line, "svc %255s %255s %u %u", a, b, &port, &n) == 4) {
		printf(health_service_set(d->h, a, b, (uint16_t)port, n) < 0 ? "err svc\n"
									     : "ok svc\n");
	} else if (sscanf(line, "delete %255s %255s", a, b) == 2) {
		health_service_delete(d->h, a, b);
		printf("ok delete\n");
	} else if (sscanf(line, "listening %255s %255s", a, b) == 2) {
		printf("ok %s\n", health_service_is_listening(d->h, a, b) ? "yes" : "no");
	} else if (strcmp(line, "sample") == 0) {
		cmd_sample(d);
	} else if (strcmp(line, "quit") == 0) {
		ev_break(d->loop, EVBREAK_ALL);
		printf("ok quit\n");
	} else {
		printf("err unknown command\n");
	}
	fflush(stdout);
}

static void driver_on_stdin(struct ev_loop *loop, ev_io *w, int revents)
{
	struct driver *d = (struct driver *)((char *)w - offsetof(struct driver, in));
	ssize_t r = read(0, d->buf + d->len, sizeof(d->buf) - 1 - d->len);
	char *nl;

	if (r <= 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	d->len += (size_t)r;
	d->buf[d->len] = '\0';
	while ((nl = strchr(d->buf, '\n'))) {
		*nl = '\0';
		run_command(d, d->buf);
		d->len -= (size_t)(nl + 1 - d->buf);
		memmove(d->buf, nl + 1, d->len + 1);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"healthz", required_argument, NULL, 'z'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"node", required_argument, NULL, 'n'},
	    {"sync-period", required_argument, NULL, 's'},
	    {"nodeport-addr", required_argument, NULL, 'a'},
	    {"verbose", no_argument, NULL, 'v'},
	    {0},
	};
	struct health_config cfg = {.healthz_bind = "127.0.0.1:0",
				    .metrics_bind = "127.0.0.1:0",
				    .sync_period_ns = 30000000000LL};
	struct net_addr addrs[8];
	struct driver d = {.loop = EV_DEFAULT, .node_name = "node-a"};
	const char *which = "?";
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z':
			cfg.healthz_bind = optarg;
			break;
		case 'm':
			cfg.metrics_bind = optarg;
			break;
		case 'n':
			d.node_name = optarg;
			break;
		case 's':
			cfg.sync_period_ns = (int64_t)(atof(optarg) * 1e9);
			break;
		case 'a':
			if (cfg.n_nodeport_addrs == 8 ||
			    net_addr_parse(optarg, &addrs[cfg.n_nodeport_addrs++]) < 0)
				return 2;
			cfg.nodeport_addrs = addrs;
			break;
		case 'v':
			log_set_verbosity(1);
			break;
		default:
			return 2;
		}
	}
	cfg.on_scrape = on_scrape;
	cfg.on_scrape_userdata = &d;
	r = health_new(d.loop, &cfg, &d.h);
	if (r < 0) {
		fprintf(stderr, "health_new: %s\n", strerror(-r));
		return 1;
	}
	r = health_start(d.h, &which);
	if (r < 0) {
		fprintf(stderr, "health_start: %s: %s\n", which, strerror(-r));
		return 1;
	}
	printf("ready healthz=%u metrics=%u\n", health_healthz_port(d.h), health_metrics_port(d.h));
	fflush(stdout);
	ev_io_init(&d.in, driver_on_stdin, 0, EV_READ);
	ev_io_start(d.loop, &d.in);
	ev_run(d.loop, 0);
	health_free(d.h);
	for (size_t i = 0; i < d.n_svcs; i++)
		free(d.svcs[i]);
	free(d.svcs);
	return 0;
}
