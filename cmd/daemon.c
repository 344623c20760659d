/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kipvs daemon (`kipvs run`): builds the pieces -- a source (API reflectors or a watched
 * --from path) feeding one cache, the incremental plan, the kernel side (ipvs_node), the health
 * and metrics servers, the systemd notifier -- on one libev loop, and decides when to sync:
 * after the sources are synced, coalescing bursts, rate-limited, with backoff after a failure,
 * and every sync period with a full verification of the kernel.
 */
#include "daemon.h"
#include "daemon_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "cleanup.h"
#include "health.h"
#include "ipvs.h"
#include "kube_cache.h"
#include "kube_client.h"
#include "kube_options.h"
#include "kube_source.h"
#include "log.h"
#include "net_addr.h"
#include "plan.h"

#define DAEMON_DRAIN_SWEEP_S 1.0

int64_t daemon_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void daemon_notify_check(int r, const char *what)
{
	if (r < 0)
		log_debug("daemon", "cannot notify systemd", "what=%s err=\"%s\"", what,
			  strerror(-r));
}

static bool daemon_sources_synced(const struct daemon *d)
{
	return kube_cache_is_synced(d->cache, KUBE_KIND_SERVICE) &&
	       kube_cache_is_synced(d->cache, KUBE_KIND_ENDPOINT_SLICE) &&
	       kube_cache_is_synced(d->cache, KUBE_KIND_NODE);
}

void daemon_sync_schedule(struct daemon *d)
{
	double now = ev_now(d->loop);
	double at = now;

	if (d->stopping || !daemon_sources_synced(d))
		return;
	if (d->last_sync_mono > 0 && d->opts->min_sync_period_ms > 0)
		at = fmax(at, d->last_sync_mono + (double)d->opts->min_sync_period_ms / 1000);
	if (d->retry_at_mono > 0)
		at = fmax(at, d->retry_at_mono);
	if (at <= now) {
		ev_timer_stop(d->loop, &d->sync_timer);
		ev_idle_start(d->loop, &d->sync_idle);
		return;
	}
	if (ev_is_active(&d->sync_idle) || ev_is_active(&d->sync_timer))
		return; /* already due at or before `at` */
	ev_timer_set(&d->sync_timer, at - now, 0);
	ev_timer_start(d->loop, &d->sync_timer);
}

static void daemon_sync_now(struct daemon *d)
{
	ev_idle_stop(d->loop, &d->sync_idle);
	ev_timer_stop(d->loop, &d->sync_timer);
	if (d->stopping || !daemon_sources_synced(d))
		return;
	daemon_sync_run(d);
}

static void daemon_on_sync_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)revents;
	daemon_sync_now(container_of(w, struct daemon, sync_idle));
}

static void daemon_on_sync_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	daemon_sync_now(container_of(w, struct daemon, sync_timer));
}

static void daemon_on_verify(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, verify_timer);

	(void)loop;
	(void)revents;
	if (!d->kernel)
		return;
	d->kops->request_verify(d->kernel);
	d->kernel_dirty = true;
	if (daemon_node_addrs_from_interfaces(d->opts) && daemon_node_addrs_refresh(d))
		d->replan_all = true;
	daemon_sync_schedule(d);
}

static void daemon_on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, drain_timer);
	struct ipvs_node_result res = {0};
	int r;

	(void)revents;
	r = d->kops->drain_sweep(d->kernel, &res);
	if (r < 0)
		log_debug("daemon", "drain sweep failed", "err=\"%s\" action=retry retry_in=%gs",
			  strerror(-r), DAEMON_DRAIN_SWEEP_S);
	else
		daemon_netlink_count(d->health, &res);
	health_draining_set(d->health, d->kops->draining_count(d->kernel));
	if (d->kops->draining_count(d->kernel) == 0)
		ev_timer_stop(loop, w);
}

static void daemon_on_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, wait_timer);

	(void)loop;
	(void)revents;
	if (daemon_sources_synced(d))
		return;
	log_warn("daemon", "not synced with the API server yet; nothing is programmed",
		 "services=%s endpointslices=%s node=%s action=waiting",
		 kube_cache_is_synced(d->cache, KUBE_KIND_SERVICE) ? "synced" : "waiting",
		 kube_cache_is_synced(d->cache, KUBE_KIND_ENDPOINT_SLICE) ? "synced" : "waiting",
		 kube_cache_is_synced(d->cache, KUBE_KIND_NODE) ? "synced" : "waiting");
	daemon_notify_check(
	    health_notify_status(d->notify, "waiting for the API server (nothing programmed)"),
	    "STATUS");
}

static void daemon_on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->signum == SIGTERM ? container_of(w, struct daemon, sigterm)
						: container_of(w, struct daemon, sigint);

	(void)loop;
	(void)revents;
	log_info("daemon", "stopping; the kernel state stays in place", "signal=%s",
		 w->signum == SIGTERM ? "TERM" : "INT");
	daemon_stop(d);
}

/* A change reached the cache: count it for the metrics and ask for a sync. */
static void daemon_changed(struct daemon *d, enum health_change kind)
{
	health_change_queued(d->health, kind, daemon_now_ns());
	if (kind == HEALTH_CHANGE_SERVICE)
		d->pending_services++;
	else
		d->pending_endpoints++;
	health_changes_pending_set(d->health, d->pending_services, d->pending_endpoints);
	if (!d->synced_sources_logged && daemon_sources_synced(d)) {
		d->synced_sources_logged = true;
		ev_timer_stop(d->loop, &d->wait_timer);
		log_info("daemon", "sources synced", "services=%zu endpointslices=%zu node=%s",
			 kube_cache_count_services(d->cache), kube_cache_count_slices(d->cache),
			 kube_cache_get_node(d->cache) ? "found" : "absent");
	}
	daemon_sync_schedule(d);
}

static void daemon_on_reflector_change(struct kube_reflector *reflector, void *userdata)
{
	struct daemon *d = userdata;

	daemon_changed(d, reflector == kube_client_reflector(d->client, KUBE_KIND_SERVICE)
			      ? HEALTH_CHANGE_SERVICE
			      : HEALTH_CHANGE_ENDPOINTS);
}

static void daemon_on_source_change(struct kube_source *source, void *userdata)
{
	(void)source;
	daemon_changed(userdata, HEALTH_CHANGE_ENDPOINTS);
}

/* Formats a parsed bind option for health_config: "off" for port 0. */
static const char *daemon_bind_text(const struct kube_options_bind *b, char *buf)
{
	if (b->port == 0)
		return "off";
	if (b->addr.family == 0) {
		(void)snprintf(buf, NET_ADDR_STRLEN, ":%u", b->port);
		return buf;
	}
	return net_addr_format_port(&b->addr, b->port, buf);
}

static int daemon_health_open(struct daemon *d)
{
	char healthz[NET_ADDR_STRLEN], metrics[NET_ADDR_STRLEN];
	const char *which = NULL;
	struct health_config cfg = {
	    .healthz_bind = daemon_bind_text(&d->opts->healthz, healthz),
	    .metrics_bind = daemon_bind_text(&d->opts->metrics, metrics),
	    .sync_period_ns = (int64_t)d->opts->sync_period_ms * 1000000,
	    .on_scrape = daemon_stats_refresh,
	    .on_scrape_userdata = d,
	};
	int r;

	r = health_new(d->loop, &cfg, &d->health);
	if (r < 0) {
		log_error("daemon", "cannot set up the health servers",
			  "healthz=%s metrics=%s err=\"%s\"", cfg.healthz_bind, cfg.metrics_bind,
			  strerror(-r));
		return r;
	}
	r = health_start(d->health, &which);
	if (r < 0) {
		log_error("daemon", "cannot listen", "server=%s address=%s err=\"%s\"",
			  which ? which : "?",
			  which && strcmp(which, "metrics") == 0 ? cfg.metrics_bind
								 : cfg.healthz_bind,
			  strerror(-r));
		return r;
	}
	return 0;
}

void daemon_kernel_config_init(const struct kube_options *o, const char *proc_root,
			       const char *state_dir, struct daemon_kernel_config *ret)
{
	*ret = (struct daemon_kernel_config){
	    .node =
		{
		    .proc_root = proc_root ? proc_root : "/proc",
		    .state_dir = state_dir ? state_dir : IPVS_NODE_STATE_DIR,
		    .dummy_ifname = o->dummy_interface,
		    .scheduler = o->scheduler,
		    .drain_timeout_ms = o->drain_timeout_ms,
		    .exclude_cidrs = o->exclude_cidrs,
		    .n_exclude_cidrs = o->n_exclude_cidrs,
		    .tcp_timeout = (uint32_t)(o->tcp_timeout_ms / 1000),
		    .tcpfin_timeout = (uint32_t)(o->tcpfin_timeout_ms / 1000),
		    .udp_timeout = (uint32_t)(o->udp_timeout_ms / 1000),
		},
	    .fw =
		{
		    .cluster_cidrs = o->cluster_cidrs,
		    .n_cluster_cidrs = o->n_cluster_cidrs,
		    .masquerade_all = o->masquerade_all,
		},
	    .strict_arp = o->strict_arp,
	};
	for (size_t i = 0; i < o->n_node_ips; i++)
		ret->node.ipv6 |= o->node_ips[i].family == AF_INET6;
	for (size_t i = 0; i < o->n_cluster_cidrs; i++)
		ret->node.ipv6 |= o->cluster_cidrs[i].addr.family == AF_INET6;
}

static int daemon_kernel_open(struct daemon *d)
{
	struct daemon_kernel_config cfg;
	char err[512] = "";
	int r;

	daemon_kernel_config_init(d->opts, d->env.proc_root, d->env.state_dir, &cfg);
	r = d->kops->open(&cfg, &d->kernel, err, sizeof(err));
	if (r < 0) {
		char q[600];

		log_error("daemon", "cannot open the kernel side", "err=%s errno=%d",
			  log_quote(q, sizeof(q), err[0] ? err : strerror(-r)), -r);
		return r;
	}
	return 0;
}

static void daemon_on_kernel_watch(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, kernel_watch);

	(void)loop;
	(void)revents;
	if (!d->kops->watch_changed(d->kernel))
		return;
	log_info("daemon", "nftables table changed by someone else; reading it back", "");
	d->kernel_dirty = true;
	daemon_sync_schedule(d);
}

void daemon_kernel_watch_start(struct daemon *d)
{
	int fd;

	if (ev_is_active(&d->kernel_watch) || !d->kops->watch_fd ||
	    (fd = d->kops->watch_fd(d->kernel)) < 0)
		return;
	ev_io_init(&d->kernel_watch, daemon_on_kernel_watch, fd, EV_READ);
	ev_io_start(d->loop, &d->kernel_watch);
}

static void daemon_fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

/* True when /proc/net/ip_vs lists no virtual server (or cannot be read). */
static bool daemon_ipvs_table_is_empty(const char *proc_root)
{
	char path[PATH_MAX], line[512];
	_cleanup_(daemon_fclosep) FILE *f = NULL;

	(void)snprintf(path, sizeof(path), "%s/net/ip_vs", proc_root);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "TCP ", 4) == 0 || strncmp(line, "UDP ", 4) == 0 ||
		    strncmp(line, "SCTP ", 5) == 0 || strncmp(line, "FWM ", 4) == 0)
			return false;
	return true;
}

static int daemon_source_open(struct daemon *d)
{
	const struct kube_options *o = d->opts;
	int r;

	if (o->from) {
		r = kube_source_new(d->loop, d->cache, o->from, o->proxy_name,
				    daemon_on_source_change, d, &d->source);
		if (r < 0)
			return r;
		r = kube_source_start(d->source);
		if (r == -EBADMSG) {
			log_warn("daemon",
				 "some files could not be parsed; their objects are left out",
				 "from=%s action=watching", o->from);
			r = 0;
		} else if (r < 0) {
			log_error("daemon", "cannot read the source", "from=%s err=\"%s\"", o->from,
				  strerror(-r));
			return r;
		}
		/* The first load happened before the callback could see the daemon ready. */
		daemon_changed(d, HEALTH_CHANGE_SERVICE);
		return 0;
	}

	struct kube_client_options copts = {
	    .kubeconfig = o->kubeconfig,
	    .master = o->master,
	    .sa_dir = d->env.sa_dir,
	    .node_name = o->hostname,
	    .proxy_name = o->proxy_name,
	    .on_change = daemon_on_reflector_change,
	    .userdata = d,
	};
	char err[512];

	r = kube_client_new(d->loop, d->cache, &copts, &d->client, err, sizeof(err));
	if (r < 0) {
		char q[600];

		log_error("daemon", "cannot configure the API client", "err=%s",
			  log_quote(q, sizeof(q), err));
		return r;
	}
	if (kube_client_is_in_cluster(d->client) && !o->master &&
	    daemon_ipvs_table_is_empty(d->env.proc_root ? d->env.proc_root : "/proc"))
		log_warn(
		    "daemon",
		    "in-cluster config with an empty IPVS table: the kubernetes Service may be "
		    "unreachable until something programs it",
		    "hint=\"pass --master https://<apiserver>:6443 on nodes\"");
	r = kube_client_start(d->client);
	if (r < 0) {
		log_error("daemon", "cannot start the API client", "err=\"%s\"", strerror(-r));
		return r;
	}
	return 0;
}

int daemon_new(const struct kube_options *opts, const struct daemon_env *env,
	       struct daemon **ret_daemon)
{
	struct daemon *d = calloc(1, sizeof(*d));
	double period;
	int r;

	if (!d)
		return -ENOMEM;
	d->opts = opts;
	d->started_ns = daemon_now_ns();
	d->plan_undelivered = d->sets_undelivered = d->keys_undelivered = true;
	if (env)
		d->env = *env;
	d->loop = d->env.loop ? d->env.loop : ev_default_loop(0);
	d->kops = d->env.kernel;
	ev_idle_init(&d->sync_idle, daemon_on_sync_idle);
	ev_timer_init(&d->sync_timer, daemon_on_sync_timer, 0, 0);
	period = (double)opts->sync_period_ms / 1000;
	ev_timer_init(&d->verify_timer, daemon_on_verify, period, period);
	ev_timer_init(&d->drain_timer, daemon_on_drain, DAEMON_DRAIN_SWEEP_S, DAEMON_DRAIN_SWEEP_S);
	ev_timer_init(&d->wait_timer, daemon_on_wait, (double)opts->sync_timeout_ms / 1000,
		      (double)opts->sync_timeout_ms / 1000);
	ev_signal_init(&d->sigterm, daemon_on_signal, SIGTERM);
	ev_signal_init(&d->sigint, daemon_on_signal, SIGINT);

	d->cache = kube_cache_new();
	d->plan = plan_merge_new();
	if (!d->cache || !d->plan || kube_cache_set_node_name(d->cache, opts->hostname) < 0) {
		daemon_free(d);
		return -ENOMEM;
	}
	r = health_notify_new(d->env.notify_socket, &d->notify);
	if (r < 0) {
		log_error("daemon", "cannot open the systemd notification socket", "err=\"%s\"",
			  strerror(-r));
		daemon_free(d);
		return r;
	}
	{
		char healthz[NET_ADDR_STRLEN], metrics[NET_ADDR_STRLEN];

		/* Every effective setting that shapes the table or the servers, in one line. */
		log_info("daemon", "starting",
			 "node=%s source=%s scheduler=%s sync_period=%" PRIu64
			 "ms min_sync_period=%" PRIu64 "ms drain_timeout=%" PRIu64
			 "ms healthz=%s metrics=%s node_ips=%zu nodeport_cidrs=%zu "
			 "exclude_cidrs=%zu tcp_timeout=%" PRIu64 "ms tcpfin_timeout=%" PRIu64
			 "ms udp_timeout=%" PRIu64 "ms dummy_interface=%s proxy_name=%s",
			 opts->hostname, opts->from ? opts->from : "api", opts->scheduler,
			 opts->sync_period_ms, opts->min_sync_period_ms, opts->drain_timeout_ms,
			 daemon_bind_text(&opts->healthz, healthz),
			 daemon_bind_text(&opts->metrics, metrics), opts->n_node_ips,
			 opts->n_nodeport_cidrs, opts->n_exclude_cidrs, opts->tcp_timeout_ms,
			 opts->tcpfin_timeout_ms, opts->udp_timeout_ms, opts->dummy_interface,
			 opts->proxy_name ? opts->proxy_name : "-");
	}
	r = daemon_health_open(d);
	if (r == 0)
		r = daemon_kernel_open(d);
	if (r < 0) {
		daemon_free(d);
		return r;
	}
	r = health_notify_watchdog_start(d->notify, d->loop, 0);
	if (r < 0)
		log_warn("daemon", "cannot start the watchdog pings", "err=\"%s\"", strerror(-r));
	daemon_notify_check(
	    health_notify_status(d->notify, "waiting for the sources (nothing programmed)"),
	    "STATUS");
	if (!d->env.no_signals) {
		ev_signal_start(d->loop, &d->sigterm);
		ev_signal_start(d->loop, &d->sigint);
	}
	if (opts->sync_timeout_ms > 0)
		ev_timer_start(d->loop, &d->wait_timer);
	ev_timer_start(d->loop, &d->verify_timer);
	r = daemon_source_open(d);
	if (r < 0) {
		daemon_free(d);
		return r;
	}
	*ret_daemon = d;
	return 0;
}

struct daemon *daemon_free(struct daemon *d)
{
	if (!d)
		return NULL;
	ev_idle_stop(d->loop, &d->sync_idle);
	ev_timer_stop(d->loop, &d->sync_timer);
	ev_timer_stop(d->loop, &d->verify_timer);
	ev_timer_stop(d->loop, &d->drain_timer);
	ev_timer_stop(d->loop, &d->wait_timer);
	ev_io_stop(d->loop, &d->kernel_watch);
	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	d->client = kube_client_free(d->client);
	d->source = kube_source_free(d->source);
	if (d->kernel)
		d->kernel = d->kops->free(d->kernel);
	d->health = health_free(d->health);
	d->notify = health_notify_free(d->notify);
	d->plan = plan_merge_free(d->plan);
	daemon_fw_forget(d);
	d->cache = kube_cache_free(d->cache);
	daemon_nolocal_clear(d);
	free(d->node_addrs);
	free(d);
	return NULL;
}

void daemon_loop(struct daemon *d)
{
	ev_run(d->loop, 0);
}

void daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	daemon_notify_check(health_notify_stopping(d->notify), "STOPPING");
	ev_break(d->loop, EVBREAK_ALL);
}

unsigned daemon_sync_count(const struct daemon *d)
{
	return d->syncs;
}

bool daemon_is_ready(const struct daemon *d)
{
	return d->ready;
}
