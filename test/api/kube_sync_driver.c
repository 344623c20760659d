/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the API suite: runs the API client (the three reflectors) on a libev loop
 * against a (fake) API server and prints the cache canonically, so a script can compare it
 * with the server's state. With --until-synced it prints once synced and exits; otherwise it
 * runs until SIGTERM and writes the dump to --dump-file on every SIGUSR1.
 *
 * Dump lines, sorted: "service ns/name rv=N", "slice ns/name rv=N", "node name rv=N", then
 * "stats ..." and "http ..." lines.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "kube_cache.h"
#include "kube_client.h"
#include "kube_http.h"
#include "kube_model.h"
#include "kube_reflector.h"
#include "log.h"

struct driver {
	struct ev_loop *loop;
	struct kube_cache *cache;
	struct kube_client *client;
	const char *dump_file;
	char **lines;
	size_t n_lines, cap_lines;
	ev_signal sigusr1, sigterm, sigint;
};

static void driver_add(struct driver *d, char *line)
{
	if (!line)
		abort();
	if (d->n_lines == d->cap_lines) {
		d->cap_lines = d->cap_lines ? d->cap_lines * 2 : 256;
		d->lines = realloc(d->lines, d->cap_lines * sizeof(*d->lines));
		if (!d->lines)
			abort();
	}
	d->lines[d->n_lines++] = line;
}

static int driver_on_service(const struct kube_service *svc, void *userdata)
{
	char *l;

	if (asprintf(&l, "service %s/%s rv=%s", svc->meta.namespace, svc->meta.name,
		     svc->meta.resource_version ? svc->meta.resource_version : "") < 0)
		l = NULL;
	driver_add(userdata, l);
	return 0;
}

static int driver_on_slice(const struct kube_endpoint_slice *slice, void *userdata)
{
	char *l;

	if (asprintf(&l, "slice %s/%s rv=%s", slice->meta.namespace, slice->meta.name,
		     slice->meta.resource_version ? slice->meta.resource_version : "") < 0)
		l = NULL;
	driver_add(userdata, l);
	return 0;
}

static int driver_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void driver_dump(struct driver *d, FILE *out)
{
	const struct kube_node *node = kube_cache_get_node(d->cache);
	struct kube_http *http = kube_client_http(d->client);

	(void)kube_cache_foreach_service(d->cache, driver_on_service, d);
	(void)kube_cache_foreach_slice(d->cache, driver_on_slice, d);
	if (d->n_lines > 0)
		qsort(d->lines, d->n_lines, sizeof(*d->lines), driver_cmp);
	for (size_t i = 0; i < d->n_lines; i++) {
		fprintf(out, "%s\n", d->lines[i]);
		free(d->lines[i]);
	}
	d->n_lines = 0;
	if (node)
		fprintf(out, "node %s rv=%s\n", node->meta.name,
			node->meta.resource_version ? node->meta.resource_version : "");
	for (int k = 0; k < _KUBE_KIND_MAX; k++) {
		struct kube_reflector *r = kube_client_reflector(d->client, (enum kube_kind)k);
		struct kube_reflector_stats s;

		kube_reflector_get_stats(r, &s);
		fprintf(out,
			"stats %s synced=%d lists=%llu watch_lists=%llu watch_list_fallbacks=%llu "
			"pages=%llu relists_gone=%llu watches=%llu events=%llu bookmarks=%llu "
			"idle_restarts=%llu failures=%llu retry_after=%llu\n",
			kube_reflector_resource(r), kube_reflector_is_synced(r),
			(unsigned long long)s.lists, (unsigned long long)s.watch_lists,
			(unsigned long long)s.watch_list_fallbacks, (unsigned long long)s.pages,
			(unsigned long long)s.relists_gone, (unsigned long long)s.watches,
			(unsigned long long)s.events, (unsigned long long)s.bookmarks,
			(unsigned long long)s.idle_restarts, (unsigned long long)s.failures,
			(unsigned long long)s.retry_after);
	}
	fprintf(out, "http connects=%llu requests=%llu version=%d\n",
		(unsigned long long)kube_http_connects(http),
		(unsigned long long)kube_http_requests(http), kube_http_last_version(http));
	fflush(out);
}

static void driver_on_sigusr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct driver *d = w->data;
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", d->dump_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	driver_dump(d, f);
	fclose(f);
	if (rename(tmp, d->dump_file) < 0)
		perror("rename");
}

static void driver_on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kube_sync_driver [--kubeconfig F] [--master URL] [--node NAME]\n"
		"  [--proxy-name X] [--until-synced] [--timeout-ms N] [--dump-file F]\n"
		"  [--idle-limit-ms N] [--watch-timeout-s N] [--list-timeout-ms N]\n"
		"  [--page-limit N] [--backoff-base-ms N] [--backoff-cap-ms N] [--sa-dir D]\n"
		"  [--no-watch-list] [--initial-events-wait-ms N] [-v]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "master", required_argument, NULL, 'm' },
		{ "node", required_argument, NULL, 'n' },
		{ "proxy-name", required_argument, NULL, 'p' },
		{ "until-synced", no_argument, NULL, 'u' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "dump-file", required_argument, NULL, 'd' },
		{ "idle-limit-ms", required_argument, NULL, 'i' },
		{ "watch-timeout-s", required_argument, NULL, 'w' },
		{ "list-timeout-ms", required_argument, NULL, 'l' },
		{ "page-limit", required_argument, NULL, 'P' },
		{ "backoff-base-ms", required_argument, NULL, 'b' },
		{ "backoff-cap-ms", required_argument, NULL, 'c' },
		{ "sa-dir", required_argument, NULL, 's' },
		{ "no-watch-list", no_argument, NULL, 'L' },
		{ "initial-events-wait-ms", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct kube_client_options o = { .node_name = "node-1" };
	struct driver d = { 0 };
	bool until_synced = false;
	unsigned timeout_ms = 20000;
	char err[512] = "";
	int c, r;

	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.kubeconfig = optarg;
			break;
		case 'm':
			o.master = optarg;
			break;
		case 'n':
			o.node_name = optarg;
			break;
		case 'p':
			o.proxy_name = optarg;
			break;
		case 'u':
			until_synced = true;
			break;
		case 't':
			timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'd':
			d.dump_file = optarg;
			break;
		case 'i':
			o.idle_limit_ms = (unsigned)atoi(optarg);
			break;
		case 'w':
			o.watch_timeout_s = (unsigned)atoi(optarg);
			break;
		case 'l':
			o.list_timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'P':
			o.page_limit = (unsigned)atoi(optarg);
			break;
		case 'b':
			o.backoff_base_ms = (uint32_t)atoi(optarg);
			break;
		case 'c':
			o.backoff_cap_ms = (uint32_t)atoi(optarg);
			break;
		case 's':
			o.sa_dir = optarg;
			break;
		case 'L':
			o.no_watch_list = true;
			break;
		case 'I':
			o.initial_events_wait_ms = (unsigned)atoi(optarg);
			break;
		case 'v':
			log_set_verbosity(1);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!until_synced && !d.dump_file) {
		usage();
		return 2;
	}
	d.loop = ev_default_loop(0);
	d.cache = kube_cache_new();
	if (!d.cache)
		return 1;
	r = kube_client_new(d.loop, d.cache, &o, &d.client, err, sizeof(err));
	if (r < 0) {
		char q[600];

		log_error("driver", "cannot configure the API client", "err=%s errno=%d",
			  log_quote(q, sizeof(q), err), -r);
		kube_cache_free(d.cache);
		return 2;
	}
	r = kube_client_start(d.client);
	if (r < 0) {
		fprintf(stderr, "start: %s\n", strerror(-r));
		return 1;
	}
	if (until_synced) {
		r = kube_client_run_until_synced(d.client, timeout_ms);
		if (r == 0)
			driver_dump(&d, stdout);
		else
			log_error("driver", "not synced", "timeout_ms=%u", timeout_ms);
	} else {
		ev_signal_init(&d.sigusr1, driver_on_sigusr1, SIGUSR1);
		d.sigusr1.data = &d;
		ev_signal_init(&d.sigterm, driver_on_stop, SIGTERM);
		ev_signal_init(&d.sigint, driver_on_stop, SIGINT);
		ev_signal_start(d.loop, &d.sigusr1);
		ev_signal_start(d.loop, &d.sigterm);
		ev_signal_start(d.loop, &d.sigint);
		log_info("driver", "running", "");
		ev_run(d.loop, 0);
		ev_signal_stop(d.loop, &d.sigusr1);
		ev_signal_stop(d.loop, &d.sigterm);
		ev_signal_stop(d.loop, &d.sigint);
		r = 0;
	}
	d.client = kube_client_free(d.client);
	d.cache = kube_cache_free(d.cache);
	free(d.lines);
	ev_loop_destroy(d.loop);
	return r == 0 ? 0 : 1;
}
