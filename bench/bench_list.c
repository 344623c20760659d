/* SPDX-License-Identifier: Apache-2.0 */
/*
 * List benchmark (issue 3 acceptance): the client's first full sync of 10 000 Services and
 * 10 000 EndpointSlices (100 000 endpoints) over HTTPS, decoded into the cache, timed from
 * kube_client_start() to synced, with this process's CPU time and peak RSS: the streaming list
 * (the default), or with --no-watch-list the paginated LIST. bench/
 * run-list-bench.sh writes the objects (--write), serves them with the fake API server and
 * runs the measurement (--kubeconfig). Figures, not a test: nothing is asserted on speed.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <ev.h>

#include "bench_gen.h"
#include "kube_cache.h"
#include "kube_client.h"
#include "kube_http.h"
#include "kube_model.h"
#include "kube_reflector.h"
#include "log.h"

#define BENCH_NODE "bench-node"

static int bench_list_write(const char *dir)
{
	struct bench_buf svcs = {0}, slices = {0}, node = {0};
	char path[4096];
	int r = 0;

	bench_gen_services(&svcs);
	bench_gen_slices(&slices);
	bench_buf_printf(&node,
			 "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\"},"
			 "\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
			 "\"address\":\"192.168.0.10\"}]}}",
			 BENCH_NODE);
	snprintf(path, sizeof(path), "%s/services.json", dir);
	r |= bench_buf_write(&svcs, path);
	snprintf(path, sizeof(path), "%s/slices.json", dir);
	r |= bench_buf_write(&slices, path);
	snprintf(path, sizeof(path), "%s/node.json", dir);
	r |= bench_buf_write(&node, path);
	if (r < 0)
		perror("bench_list: write");
	else
		printf(
		    "wrote %d Services (%.1f MB JSON), %d EndpointSlices with %d endpoints (%.1f "
		    "MB JSON) to %s\n",
		    BENCH_N_SERVICES, (double)svcs.len / 1e6, BENCH_N_SERVICES,
		    BENCH_N_SERVICES * BENCH_ENDPOINTS_PER_SLICE, (double)slices.len / 1e6, dir);
	free(svcs.p);
	free(slices.p);
	free(node.p);
	return r < 0 ? 1 : 0;
}

static size_t bench_endpoints;

static int bench_count_endpoints(const struct kube_endpoint_slice *slice, void *userdata)
{
	bench_endpoints += slice->n_endpoints;
	return 0;
}

static double bench_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int bench_list_run(const char *kubeconfig, unsigned page_limit, bool no_watch_list)
{
	struct kube_client_options o = {
	    .kubeconfig = kubeconfig,
	    .node_name = BENCH_NODE,
	    .page_limit = page_limit,
	    .no_watch_list = no_watch_list,
	};
	struct ev_loop *loop = ev_default_loop(0);
	struct kube_client *client = NULL;
	struct kube_cache *cache = kube_cache_new();
	struct kube_reflector_stats st;
	double t0, cpu0, wall, cpu, rss0, heap0;
	char err[512];
	int r;

	if (!loop || !cache)
		return 1;
	r = kube_client_new(loop, cache, &o, &client, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bench_list: %s\n", err);
		kube_cache_free(cache);
		return 1;
	}
	rss0 = bench_peak_rss_mb();
	heap0 = (double)mallinfo2().uordblks;
	t0 = bench_now();
	cpu0 = bench_cpu_s();
	r = kube_client_start(client);
	if (r == 0)
		r = kube_client_run_until_synced(client, 600000);
	wall = bench_now() - t0;
	cpu = bench_cpu_s() - cpu0;
	if (r < 0) {
		fprintf(stderr, "bench_list: not synced: %s\n", strerror(-r));
	} else {
		r = kube_cache_foreach_slice(cache, bench_count_endpoints, NULL);
		kube_reflector_get_stats(kube_client_reflector(client, KUBE_KIND_SERVICE), &st);
		printf("listed:    %zu Services, %zu EndpointSlices, %zu endpoints, node %s; "
		       "%s; %llu + ",
		       kube_cache_count_services(cache), kube_cache_count_slices(cache),
		       bench_endpoints, kube_cache_get_node(cache) ? "yes" : "no",
		       st.watch_lists && !st.watch_list_fallbacks ? "streaming list" : "LIST",
		       (unsigned long long)st.pages);
		kube_reflector_get_stats(kube_client_reflector(client, KUBE_KIND_ENDPOINT_SLICE),
					 &st);
		printf("%llu pages of up to %u, %llu HTTP connection(s)\n",
		       (unsigned long long)st.pages,
		       page_limit ? page_limit : KUBE_REFLECTOR_PAGE_LIMIT,
		       (unsigned long long)kube_http_connects(kube_client_http(client)));
		printf("time:      %.3f s from start to synced (wall, includes the fake server); "
		       "%.3f s CPU in this process (TLS, HTTP, JSON parse, decode, cache)\n",
		       wall, cpu);
		printf("memory:    cache holds %.1f MB of heap; peak RSS %.1f MB (%.1f MB before "
		       "the list)\n",
		       ((double)mallinfo2().uordblks - heap0) / (1024.0 * 1024.0),
		       bench_peak_rss_mb(), rss0);
		fflush(stdout);
		if (kube_cache_count_services(cache) != BENCH_N_SERVICES ||
		    bench_endpoints != BENCH_N_SERVICES * BENCH_ENDPOINTS_PER_SLICE) {
			fprintf(stderr, "bench_list: wrong counts\n");
			r = -EIO;
		}
	}
	client = kube_client_free(client);
	kube_cache_free(cache);
	ev_loop_destroy(loop);
	return r < 0 ? 1 : 0;
}

static int bench_list_usage(void)
{
	fprintf(stderr, "usage: bench_list --write DIR | --kubeconfig FILE [--page-limit N] "
			"[--no-watch-list]\n"
			"(bench/run-list-bench.sh runs both with the fake API server)\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"write", required_argument, NULL, 'w'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"page-limit", required_argument, NULL, 'P'},
	    {"no-watch-list", no_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	const char *write_dir = NULL, *kubeconfig = NULL;
	unsigned page_limit = 0;
	bool no_watch_list = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			write_dir = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'P':
			page_limit = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			no_watch_list = true;
			break;
		default:
			return bench_list_usage();
		}
	}
	if (write_dir && !kubeconfig)
		return bench_list_write(write_dir);
	if (kubeconfig && !write_dir)
		return bench_list_run(kubeconfig, page_limit, no_watch_list);
	return bench_list_usage();
}
