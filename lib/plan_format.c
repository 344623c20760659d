/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desired table as `ipvsadm -Sn` lines, so that `kipvs plan | ipvsadm -R` builds it and
 * its output compares line for line with what the kernel holds. The syntax follows ipvsadm's
 * own rule printer: persistence as "-p SECONDS" with no "-M" for a full-length netmask, then
 * the scheduler flags as "-b mh-fallback,mh-port" (ipvsadm prints them after the persistence).
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>

#include "kube_model.h"
#include "net_addr.h"

static const char *plan_proto_switch(enum kube_proto proto)
{
	switch (proto) {
	case KUBE_PROTO_TCP:
		return "-t";
	case KUBE_PROTO_UDP:
		return "-u";
	case KUBE_PROTO_SCTP:
		return "--sctp-service";
	case _KUBE_PROTO_MAX:
		break;
	}
	return "?";
}

static int plan_vs_write(const struct plan_vs *vs, FILE *stream)
{
	char vip[NET_ADDR_STRLEN], rip[NET_ADDR_STRLEN], flags[PLAN_SCHED_FLAGS_STRLEN];
	const char *sw = plan_proto_switch(vs->proto);

	(void)net_addr_format_port(&vs->addr, vs->port, vip);
	if (fprintf(stream, "-A %s %s -s %s", sw, vip, vs->scheduler) < 0)
		return -EIO;
	if (vs->persistent && fprintf(stream, " -p %u", (unsigned)vs->timeout) < 0)
		return -EIO;
	if (vs->sched_flags &&
	    fprintf(stream, " -b %s",
		    plan_sched_flags_format(vs->scheduler, vs->sched_flags, flags)) < 0)
		return -EIO;
	if (fputc('\n', stream) == EOF)
		return -EIO;
	for (size_t i = 0; i < vs->n_dests; i++) {
		const struct plan_dest *d = &vs->dests[i];

		if (fprintf(stream, "-a %s %s -r %s -m -w %u\n", sw, vip,
			    net_addr_format_port(&d->addr, d->port, rip), (unsigned)d->weight) < 0)
			return -EIO;
	}
	return 0;
}

int plan_table_write(const struct plan_table *table, FILE *stream)
{
	for (size_t i = 0; i < table->n_vs; i++) {
		int r = plan_vs_write(&table->vs[i], stream);

		if (r < 0)
			return r;
	}
	return 0;
}
