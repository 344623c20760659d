/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One pass of the daemon's loop: take the changed Service keys from the cache, re-plan only
 * those Services (all of them when this node's addresses moved), sync the kernel when the
 * table changed or drift must be repaired, and push the outcome to health/ (sync times, node
 * eligibility, health-check node ports, metrics) and to systemd (READY=1, STATUS=).
 */
#include "daemon.h"
#include "daemon_internal.h"

#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cleanup.h"
#include "health.h"
#include "ipvs.h"
#include "kube_cache.h"
#include "kube_model.h"
#include "kube_options.h"
#include "log.h"
#include "net_addr.h"
#include "plan.h"

#define DAEMON_RETRY_BASE_S 0.5
#define DAEMON_RETRY_CAP_S 30.0

/* ---- This node's addresses ---- */

/*
 * The node's interface addresses, which --nodeport-addresses selects among: all but loopback,
 * IPv6 link-local (kube-proxy's legacy default leaves them out, and a virtual server cannot
 * name a link) and the dummy interface's (the virtual addresses kipvs binds). Count, or
 * -errno; *ret_addrs malloc'd.
 */
static int daemon_ifaddrs_read(const struct kube_options *o, struct net_addr **ret_addrs)
{
	static const struct net_prefix link_local = {
	    .addr = {.family = AF_INET6, .bytes = {0xfe, 0x80}}, .len = 10};
	struct ifaddrs *ifs = NULL;
	_cleanup_free_ struct net_addr *v = NULL;
	size_t n = 0, cap = 0;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct net_addr a = {0};

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) ||
		    (o->dummy_interface && strcmp(i->ifa_name, o->dummy_interface) == 0))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a.family = AF_INET;
			memcpy(a.bytes, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a.family = AF_INET6;
			memcpy(a.bytes, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
			       16);
		} else {
			continue;
		}
		if (net_prefix_contains(&link_local, &a))
			continue;
		if (n == cap) {
			struct net_addr *nv = reallocarray(v, cap ? cap * 2 : 4, sizeof(*v));

			if (!nv) {
				freeifaddrs(ifs);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 4;
		}
		v[n++] = a;
	}
	freeifaddrs(ifs);
	*ret_addrs = TAKE_PTR(v);
	return (int)n;
}

bool daemon_node_addrs_from_interfaces(const struct kube_options *o)
{
	return o->n_nodeport_cidrs > 0 && o->n_node_ips == 0;
}

int daemon_node_addrs_input(const struct kube_options *o, const struct kube_node *node,
			    struct plan_node_addrs_input *ret_in, struct net_addr **ret_if_addrs)
{
	struct plan_node_addrs_input in;
	_cleanup_free_ struct net_addr *if_addrs = NULL;
	int n = 0;

	plan_node_addrs_input_init(&in, o, node);
	in.from_interfaces = daemon_node_addrs_from_interfaces(o);
	if (in.from_interfaces) {
		n = daemon_ifaddrs_read(o, &if_addrs);
		if (n < 0)
			return n;
	}
	in.if_addrs = if_addrs;
	in.n_if_addrs = (size_t)n;
	*ret_in = in;
	*ret_if_addrs = TAKE_PTR(if_addrs);
	return 0;
}

bool daemon_node_addrs_refresh(struct daemon *d)
{
	const struct kube_options *o = d->opts;
	struct plan_node_addrs_input in;
	_cleanup_free_ struct net_addr *if_addrs = NULL, *addrs = NULL;
	char list[1024] = "", buf[NET_ADDR_STRLEN];
	size_t len = 0;
	int n;

	n = daemon_node_addrs_input(o, kube_cache_get_node(d->cache), &in, &if_addrs);
	if (n >= 0)
		n = plan_node_addrs_resolve(&in, &addrs);
	if (n < 0) {
		log_warn("daemon", "cannot read the node addresses", "err=\"%s\" action=kept",
			 strerror(-n));
		return false;
	}
	if (d->node_addrs_known && (size_t)n == d->n_node_addrs &&
	    (n == 0 || memcmp(addrs, d->node_addrs, (size_t)n * sizeof(*addrs)) == 0))
		return false;
	for (int i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "",
					net_addr_format(&addrs[i], buf));
	if (n > 0)
		log_info("daemon", "node addresses", "node=%s addresses=%s", o->hostname, list);
	if (o->n_nodeport_cidrs > 0 && n > 0 &&
	    health_nodeport_addrs_set(d->health, addrs, (size_t)n) < 0)
		log_warn("daemon", "cannot move the health-check node ports", "err=\"%s\"",
			 strerror(ENOMEM));
	free(d->node_addrs);
	d->node_addrs = TAKE_PTR(addrs);
	d->n_node_addrs = (size_t)n;
	d->node_addrs_known = true;
	return true;
}

/*
 * Warns, once, that NodePort virtual servers are missing, when this node has no address for
 * them and a Service needs one (only then: a cluster without NodePorts needs no node address).
 */
static void daemon_node_addrs_check(struct daemon *d)
{
	struct plan_node_addrs_input in;
	char fields[512];

	if (d->n_node_addrs > 0 || d->node_addrs_warned ||
	    !plan_cache_has_node_port(d->cache, d->opts->proxy_name))
		return;
	d->node_addrs_warned = true;
	plan_node_addrs_input_init(&in, d->opts, kube_cache_get_node(d->cache));
	in.from_interfaces = daemon_node_addrs_from_interfaces(d->opts);
	log_warn("daemon", PLAN_NODE_ADDRS_NONE_MSG, "%s",
		 plan_node_addrs_none_fields(&in, fields, sizeof(fields)));
}

/* ---- Services with a Local traffic policy and no local endpoint (metrics) ---- */

struct daemon_nolocal {
	char *key;
	bool internal, external;
	UT_hash_handle hh;
};

/*
 * Records whether Service key has a Local policy but no ready local endpoint while it has
 * endpoints (kube-proxy's sync_proxy_rules_no_local_endpoints_total), and pushes the counts.
 */
static void daemon_nolocal_set(struct daemon *d, const char *key, bool internal, bool external)
{
	struct daemon_nolocal *e;

	HASH_FIND_STR(d->nolocal, key, e);
	if (!e && (internal || external)) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->key = strdup(key))) {
			free(e);
			return;
		}
		HASH_ADD_KEYPTR(hh, d->nolocal, e->key, strlen(e->key), e);
	}
	if (!e) {
		health_no_local_endpoints_set(d->health, d->n_nolocal_internal,
					      d->n_nolocal_external);
		return;
	}
	d->n_nolocal_internal += (size_t)internal - (size_t)e->internal;
	d->n_nolocal_external += (size_t)external - (size_t)e->external;
	e->internal = internal;
	e->external = external;
	if (!internal && !external) {
		HASH_DEL(d->nolocal, e);
		free(e->key);
		free(e);
	}
	health_no_local_endpoints_set(d->health, d->n_nolocal_internal, d->n_nolocal_external);
}

void daemon_nolocal_clear(struct daemon *d)
{
	struct daemon_nolocal *e, *tmp;

	HASH_ITER(hh, d->nolocal, e, tmp)
	{
		HASH_DEL(d->nolocal, e);
		free(e->key);
		free(e);
	}
}

/* ---- Health-check node ports and programming latency ---- */

struct daemon_slices {
	const struct kube_endpoint_slice **v;
	size_t n, cap;
	int64_t newest_trigger_ns;
};

static int daemon_slices_add(const struct kube_endpoint_slice *slice, void *userdata)
{
	struct daemon_slices *s = userdata;

	if (slice->last_change_trigger_time_ns > s->newest_trigger_ns)
		s->newest_trigger_ns = slice->last_change_trigger_time_ns;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		const struct kube_endpoint_slice **v = reallocarray(s->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = slice;
	return 0;
}

/*
 * Pushes Service key's health-check node port and local endpoint count to health/, and returns
 * the newest last-change-trigger-time of its slices (0 when none).
 */
static int64_t daemon_service_health(struct daemon *d, const char *key)
{
	const char *slash = strchr(key, '/');
	_cleanup_free_ char *ns = NULL;
	const struct kube_service *svc;
	struct daemon_slices s = {0};
	int n;

	if (!slash)
		return 0;
	ns = strndup(key, (size_t)(slash - key));
	if (!ns)
		return 0;
	svc = kube_cache_get_service(d->cache, ns, slash + 1);
	if (kube_cache_foreach_slice_of(d->cache, ns, slash + 1, daemon_slices_add, &s) < 0) {
		free(s.v);
		return 0;
	}
	if (!svc || plan_service_skip_reason(svc, d->opts->proxy_name)) {
		health_service_delete(d->health, ns, slash + 1);
		daemon_nolocal_set(d, key, false, false);
		free(s.v);
		return s.newest_trigger_ns;
	}
	n = health_local_endpoints_count(svc, s.v, s.n, d->opts->hostname);
	if (svc->health_check_node_port == 0) {
		health_service_delete(d->health, ns, slash + 1);
	} else if (n < 0 || health_service_set(d->health, ns, slash + 1,
					       svc->health_check_node_port, (unsigned)n) < 0) {
		log_warn("daemon", "cannot update the health-check node port",
			 "svc=%s port=%u err=\"%s\"", key, svc->health_check_node_port,
			 strerror(ENOMEM));
	}
	if (n >= 0) {
		bool any = false;
		bool exposed = svc->type == KUBE_SVC_NODE_PORT ||
			       svc->type == KUBE_SVC_LOAD_BALANCER || svc->n_external_ips > 0;

		for (size_t i = 0; i < s.n && !any; i++)
			any = s.v[i]->n_endpoints > 0;
		daemon_nolocal_set(
		    d, key, any && n == 0 && svc->internal_policy == KUBE_POLICY_LOCAL,
		    any && n == 0 && exposed && svc->external_policy == KUBE_POLICY_LOCAL);
	}
	free(s.v);
	return s.newest_trigger_ns;
}

/* ---- Metrics: per virtual server statistics ---- */

struct daemon_stats {
	struct plan_table view;
	struct health_vs_stats *v;
	size_t n, cap;
	int err;
};

static bool daemon_proto_parse(const char *text, enum kube_proto *ret)
{
	static const char *const names[] = {"tcp", "udp", "sctp"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(text, names[i]) == 0) {
			*ret = (enum kube_proto)i;
			return true;
		}
	return false;
}

static void daemon_stats_one(const struct ipvs_node_vs_stats *st, void *userdata)
{
	struct daemon_stats *s = userdata;
	struct plan_vs probe = {0};
	const struct plan_vs *vs;

	if (s->err < 0 || !daemon_proto_parse(st->protocol, &probe.proto))
		return;
	probe.addr = *st->addr;
	probe.port = st->port;
	vs = plan_table_find(&s->view, &probe);
	if (!vs)
		return; /* owned but not planned: draining out */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct health_vs_stats *v = reallocarray(s->v, cap, sizeof(*v));

		if (!v) {
			s->err = -ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct health_vs_stats){
	    .svc_namespace = vs->svc_namespace,
	    .svc_name = vs->svc_name,
	    .port_name = vs->port_name ? vs->port_name : "",
	    .addr = vs->addr,
	    .proto = vs->proto,
	    .port = vs->port,
	    .conns = st->conns,
	    .inpkts = st->inpkts,
	    .outpkts = st->outpkts,
	    .inbytes = st->inbytes,
	    .outbytes = st->outbytes,
	};
}

void daemon_stats_refresh(void *userdata)
{
	struct daemon *d = userdata;
	struct daemon_stats s = {0};
	int r;

	if (!d->kernel || !d->ready || plan_merge_table(d->plan, &s.view) < 0)
		return;
	r = d->kops->stats_foreach(d->kernel, daemon_stats_one, &s);
	if (r == 0 && s.err == 0)
		r = health_vs_stats_set(d->health, s.v, s.n);
	else if (r == 0)
		r = s.err;
	if (r < 0)
		log_debug("daemon", "cannot refresh the virtual server statistics", "err=\"%s\"",
			  strerror(-r));
	free(s.v);
}

/* ---- The sync ---- */

/*
 * Counts a sync's kernel operations in kipvs_netlink_operations_total{op}, and the failed ones
 * also in kipvs_netlink_errors_total{op,errno}.
 */
void daemon_netlink_count(struct health *h, const struct ipvs_node_result *res)
{
	const struct {
		const char *op;
		unsigned n;
	} ops[] = {
	    {"add_service", res->sync.services_added},
	    {"set_service", res->sync.services_changed},
	    {"del_service", res->sync.services_deleted},
	    {"add_dest", res->sync.dests_added},
	    {"set_dest", res->sync.dests_changed},
	    {"del_dest", res->sync.dests_deleted},
	    {"add_address", res->addresses_added},
	    {"del_address", res->addresses_deleted},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		for (unsigned k = 0; k < ops[i].n; k++)
			health_netlink_op(h, ops[i].op, 0);
	for (size_t i = 0; i < res->sync.n_failures; i++)
		for (unsigned k = 0; k < res->sync.failures[i].n; k++)
			health_netlink_op(h, res->sync.failures[i].op, res->sync.failures[i].err);
}

static void daemon_on_note(const struct plan_note *note, void *userdata)
{
	char detail[320];
	const char *key = note->object_kind == KUBE_KIND_SERVICE ? "svc" : "slice";

	(void)userdata;
	/* Skipped Services are re-noted on every change of theirs: keep that at debug. */
	log_write(note->kind == PLAN_NOTE_SKIPPED ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "plan",
		  plan_note_kind_to_string(note->kind), "kind=%s %s=%s/%s detail=%s",
		  kube_kind_to_string(note->object_kind), key, note->ns, note->name,
		  log_quote(detail, sizeof(detail), note->detail));
}

static void daemon_status_set(struct daemon *d, const char *status)
{
	if (strcmp(d->status, status) == 0)
		return;
	(void)snprintf(d->status, sizeof(d->status), "%s", status);
	daemon_notify_check(health_notify_status(d->notify, status), "STATUS");
}

/* A sync failed (r: -errno, or -EIO when some operations failed): back off and retry. */
/*
 * Gives the system back the heap the first sync left free: the decode trees of the first
 * full list (or of the --from files) and the first full diff. glibc keeps freed memory in its
 * arenas otherwise, so the steady RSS would stay at the startup peak. Called once, when the
 * daemon first becomes ready; kipvs targets glibc (Debian), which has malloc_trim().
 */
static void daemon_memory_trim(void)
{
	(void)malloc_trim(0);
}

static void daemon_sync_failed(struct daemon *d, int r, const char *what)
{
	double delay = fmin(DAEMON_RETRY_BASE_S * pow(2, d->failures), DAEMON_RETRY_CAP_S);
	char status[256];

	d->failures++;
	d->kernel_dirty = true;
	ev_now_update(d->loop);
	d->retry_at_mono = ev_now(d->loop) + delay;
	log_warn("daemon", "sync failed",
		 "what=%s err=\"%s\" failures=%u action=retry retry_in=%gs", what, strerror(-r),
		 d->failures, delay);
	(void)snprintf(status, sizeof(status), "sync failed (%s: %s), retrying in %gs", what,
		       strerror(-r), delay);
	daemon_status_set(d, status);
	daemon_sync_schedule(d);
}

/*
 * The part of view the changed Services claim (shallow copies, sorted, each key once), when
 * the change kept view's virtual servers as the kernel last had them; 1 when ret_part is that,
 * 0 when the whole table must be synced (ret_part empty), -ENOMEM. A part larger than a
 * quarter of the table is not worth its bookkeeping: 0.
 */
static int daemon_plan_part(const struct daemon *d, const struct plan_table *view, char **keys,
			    size_t n_keys, struct plan_table *ret_part)
{
	struct plan_vs *vs = NULL;
	size_t n = 0, cap = 0, max = view->n_vs / 4 > 64 ? view->n_vs / 4 : 64;

	*ret_part = (struct plan_table){0};
	for (size_t i = 0; i < n_keys; i++) {
		const struct plan_table *claims = plan_merge_service_plan(d->plan, keys[i]);

		for (size_t j = 0; claims && j < claims->n_vs; j++) {
			const struct plan_vs *e = plan_table_find(view, &claims->vs[j]);

			if (!e)
				continue;
			if (n == max) {
				free(vs);
				return 0;
			}
			if (n == cap) {
				struct plan_vs *grown;

				cap = cap ? 2 * cap : 16;
				grown = reallocarray(vs, cap, sizeof(*grown));
				if (!grown) {
					free(vs);
					return -ENOMEM;
				}
				vs = grown;
			}
			vs[n++] = *e;
		}
	}
	if (n == 0) {
		free(vs);
		return 0;
	}
	qsort(vs, n, sizeof(*vs), plan_vs_key_qsort_compare);
	/* Two changed Services may claim one key: keep it once. */
	size_t u = 1;

	for (size_t i = 1; i < n; i++)
		if (plan_vs_key_compare(&vs[i], &vs[u - 1]) != 0)
			vs[u++] = vs[i];
	*ret_part = (struct plan_table){.vs = vs, .n_vs = u};
	return 1;
}

/* Every sync's phases: a debug line (-v 1) and the phase histogram. */
static void daemon_phases_report(struct daemon *d, const struct sync_phases *ph)
{
	char line[512];

	health_sync_phases_observe(d->health, ph);
	if (!log_is_enabled(LOG_LEVEL_DEBUG))
		return;
	sync_phases_format(ph, line, sizeof(line));
	log_debug("daemon", "sync phases", "%s", line);
}

void daemon_sync_run(struct daemon *d)
{
	int64_t start_ns = daemon_now_ns(), end_ns;
	bool first = d->syncs == 0 && d->failures == 0 && d->last_sync_mono == 0;
	char **keys = NULL;
	size_t n_keys = 0;
	bool node_changed = false, changed = false, replanned, contested;
	_cleanup_free_ int64_t *triggers = NULL;
	struct plan_table part = {0}; /* shallow copies of view's entries: only the array is ours */
	bool partial = false;
	struct ipvs_node_result res = {0};
	struct plan_table view;
	char summary[256], status[256];
	struct sync_phases ph = {0}; /* the daemon's own: decode and plan */
	double plan_t;
	int r;

	ev_now_update(d->loop);
	d->last_sync_mono = ev_now(d->loop);
	d->retry_at_mono = 0;

	ph.ms[SYNC_PHASE_DECODE] = kube_cache_decode_take(d->cache);
	/* A part is enough only on top of a table the kernel side last got whole. */
	partial = !first && !d->plan_undelivered && !d->keys_undelivered;
	r = kube_cache_take_changes(d->cache, &keys, &n_keys, &node_changed);
	if (r < 0) {
		daemon_sync_failed(d, r, "changes");
		return;
	}
	if (first || node_changed) {
		health_node_eligible_set(d->health,
					 health_node_is_eligible(kube_cache_get_node(d->cache)));
		if (daemon_node_addrs_refresh(d))
			d->replan_all = true;
	}

	const struct plan_input in = {
	    .cache = d->cache,
	    .node_name = d->opts->hostname,
	    .node_addrs = d->node_addrs,
	    .n_node_addrs = d->n_node_addrs,
	    .scheduler = d->opts->scheduler,
	    .proxy_name = d->opts->proxy_name,
	    .note = daemon_on_note,
	};

	plan_t = sync_phase_now_ms();
	if (n_keys > 0)
		triggers = calloc(n_keys, sizeof(*triggers));
	for (size_t i = 0; i < n_keys; i++) {
		r = plan_merge_update(d->plan, &in, keys[i]);
		if (r < 0)
			d->replan_all = true; /* ENOMEM: try everything again next time */
		else
			changed |= r > 0;
		int64_t t = daemon_service_health(d, keys[i]);

		if (triggers)
			triggers[i] = t;
	}
	d->plan_undelivered |= changed; /* before anything below can fail */
	replanned = d->replan_all;
	if (d->replan_all) {
		r = plan_merge_update_all(d->plan, &in);
		if (r < 0) {
			kube_cache_changes_free(keys, n_keys);
			daemon_sync_failed(d, r, "plan");
			return;
		}
		d->replan_all = false;
		changed |= r > 0;
	}
	d->plan_undelivered |= changed;
	daemon_node_addrs_check(d);

	r = plan_merge_table(d->plan, &view);
	contested = plan_merge_take_contested(d->plan);
	d->keys_undelivered |= plan_merge_take_rebuilt(d->plan);
	partial = partial && d->plan_undelivered && !d->keys_undelivered && !replanned;
	if (r == 0 && (n_keys > 0 || changed || first || !d->have_fw_desired))
		r = daemon_fw_refresh(d, &view, keys, n_keys, first || replanned || contested);
	if (r < 0) {
		kube_cache_changes_free(keys, n_keys);
		daemon_sync_failed(d, r, "plan");
		return;
	}
	d->sets_undelivered |= r > 0;
	changed |= r > 0;

	if (!changed && !d->kernel_dirty && !first) {
		/* Nothing for the kernel: the plan and the packet path's sets absorbed it. */
		sync_phase_add_since(&ph, SYNC_PHASE_PLAN, plan_t);
		daemon_phases_report(d, &ph);
		end_ns = daemon_now_ns();
		health_synced(d->health, start_ns, end_ns);
		d->pending_services = d->pending_endpoints = 0;
		kube_cache_changes_free(keys, n_keys);
		log_debug("daemon", "no change for the kernel", "services_changed=%zu", n_keys);
		return;
	}

	if (partial && daemon_plan_part(d, &view, keys, n_keys, &part) <= 0)
		partial = false;
	sync_phase_add_since(&ph, SYNC_PHASE_PLAN, plan_t);
	r = d->kops->sync(d->kernel, &view, &d->fw_desired,
			  (d->plan_undelivered ? 0 : DAEMON_SAME_PLAN) |
			      (d->sets_undelivered ? 0 : DAEMON_SAME_SETS),
			  partial ? &part : NULL, &res);
	free(part.vs);
	end_ns = daemon_now_ns();
	if (r >= 0)
		d->plan_undelivered = d->sets_undelivered = d->keys_undelivered = false;
	sync_phases_add(&ph, &res.phases); /* and the kernel side's */
	daemon_phases_report(d, &ph);
	if (d->env.on_sync)
		d->env.on_sync(d, r, d->env.userdata);
	if (r < 0) {
		health_netlink_op(d->health, "sync", r);
		kube_cache_changes_free(keys, n_keys);
		daemon_sync_failed(d, r, "kernel");
		return;
	}
	d->syncs++;
	daemon_netlink_count(d->health, &res);
	ipvs_node_result_format(&res, summary, sizeof(summary));
	/* The first sync's line says what a (re)start changed, even when that is nothing. */
	log_write(d->syncs == 1 || res.sync.operations > 0 || res.addresses_added ||
			  res.addresses_deleted
		      ? LOG_LEVEL_INFO
		      : LOG_LEVEL_DEBUG,
		  "daemon", summary, "services_changed=%zu virtual_servers=%zu failed=%u%s", n_keys,
		  view.n_vs, res.sync.failed, res.sync.verified ? " verified=true" : "");

	health_draining_set(d->health, d->kops->draining_count(d->kernel));
	if (d->kops->draining_count(d->kernel) > 0 && !ev_is_active(&d->drain_timer))
		ev_timer_start(d->loop, &d->drain_timer);

	if (res.sync.failed > 0) {
		kube_cache_changes_free(keys, n_keys);
		if (!d->ready) {
			d->ready = true;
			daemon_memory_trim();
			daemon_notify_check(
			    health_notify_ready(d->notify,
						"first sync done, some operations failed"),
			    "READY");
		}
		daemon_sync_failed(d, -EIO, "operations");
		return;
	}

	/* A good sync. */
	daemon_kernel_watch_start(d);
	/* Not "newer than the last sync's start": the annotation has a second's resolution at
	 * best, and a verification that started in the same second would hide the change. */
	for (size_t i = 0; triggers && i < n_keys; i++)
		if (triggers[i] >= d->started_ns)
			health_network_programming_observe(d->health, triggers[i], end_ns);
	kube_cache_changes_free(keys, n_keys);
	health_synced(d->health, start_ns, end_ns);
	d->pending_services = d->pending_endpoints = 0;
	d->failures = 0;
	d->kernel_dirty = false;
	(void)snprintf(status, sizeof(status), "synced: %zu virtual servers for %zu Services",
		       view.n_vs, plan_merge_count_services(d->plan));
	if (!d->ready) {
		d->ready = true;
		daemon_memory_trim();
		(void)snprintf(d->status, sizeof(d->status), "%s", status);
		daemon_notify_check(health_notify_ready(d->notify, status), "READY");
		log_info("daemon", "ready", "virtual_servers=%zu services=%zu", view.n_vs,
			 plan_merge_count_services(d->plan));
	} else {
		daemon_status_set(d, status);
	}
}
