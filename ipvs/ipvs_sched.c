/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Does the kernel have this IPVS scheduler? kipvs accepts any scheduler name, as kube-proxy
 * does, and asks the kernel once at start: it creates a virtual server with the scheduler on an
 * address no Service uses and deletes it again. Asking is the only test that cannot go stale:
 * the kernel loads ip_vs_<name> itself when a service names it, and refuses an unknown one.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/ip_vs.h>

void ipvs_sched_probe_key(unsigned i, struct ipvs_key *ret_key)
{
	/* 198.51.100.0 (TEST-NET-2, RFC 5737: documentation only), kube-proxy's probe address. */
	const struct net_addr addr = {.family = AF_INET, .bytes = {198, 51, 100, 0}};

	ipvs_key_init(ret_key, &addr, (uint16_t)(IPVS_SCHED_PROBE_PORT + i), IPPROTO_TCP);
}

/* Sends one operation alone, so that its answer is known before the next one is chosen. */
static int ipvs_sched_apply_one(const struct ipvs_ops *ops, void *impl, struct ipvs_op *op)
{
	int r = ops->apply(impl, op, 1, NULL);

	return r < 0 ? r : op->err;
}

int ipvs_sched_probe(const struct ipvs_ops *ops, void *impl, const char *scheduler, char *err,
		     size_t err_size)
{
	struct ipvs_op op = {.kind = IPVS_OP_SERVICE_ADD};
	char key[IPVS_KEY_STRLEN], first[IPVS_KEY_STRLEN];
	int r = -EEXIST;

	(void)snprintf(op.svc.sched, sizeof(op.svc.sched), "%s", scheduler);
	op.svc.netmask = 0xffffffffu;
	for (unsigned i = 0; i < IPVS_SCHED_PROBE_TRIES && r == -EEXIST; i++) {
		ipvs_sched_probe_key(i, &op.svc.key);
		if (i == 0)
			ipvs_key_format(&op.svc.key, first);
		/* EEXIST: another's virtual server; the add left it as it was. Try the next. */
		r = ipvs_sched_apply_one(ops, impl, &op);
	}
	ipvs_key_format(&op.svc.key, key);
	if (r == -ENOENT) {
		(void)snprintf(err, err_size,
			       "the kernel has no IPVS scheduler %s: creating the probe virtual "
			       "server %s with it failed: %s (is there a module ip_vs_%s?)",
			       scheduler, key, strerror(-r), scheduler);
		return -ENOPKG;
	}
	if (r == -EEXIST) {
		(void)snprintf(err, err_size,
			       "cannot probe IPVS scheduler %s: the probe virtual servers %s to %s "
			       "all exist and are not kipvs's (198.51.100.0 is TEST-NET-2, for "
			       "documentation only; delete one)",
			       scheduler, first, key);
		return r;
	}
	if (r < 0) {
		(void)snprintf(
		    err, err_size,
		    "cannot probe IPVS scheduler %s: creating the probe virtual server %s "
		    "failed: %s%s",
		    scheduler, key, strerror(-r),
		    r == -EPERM || r == -EACCES ? " (run as root)" : "");
		return r;
	}
	op.kind = IPVS_OP_SERVICE_DEL;
	r = ipvs_sched_apply_one(ops, impl, &op);
	if (r < 0 && r != -ESRCH) {
		struct ipvs_key vip = op.svc.key;
		char vip_text[IPVS_KEY_STRLEN];

		vip.protocol = 0; /* formats as address:port, as ipvsadm takes it */
		(void)snprintf(
		    err, err_size,
		    "the probe virtual server %s (scheduler %s) could not be deleted: %s; "
		    "delete it by hand: ipvsadm -D -t %s",
		    key, scheduler, strerror(-r), ipvs_key_format(&vip, vip_text));
		return r;
	}
	return 0;
}
