/* SPDX-License-Identifier: Apache-2.0 */
/* The phases of a sync (sync_phase.h). */
#include "sync_phase.h"

#include <stdio.h>
#include <time.h>

static const char *const sync_phase_names[_SYNC_PHASE_MAX] = {
    [SYNC_PHASE_DECODE] = "decode",	  [SYNC_PHASE_PLAN] = "plan",
    [SYNC_PHASE_READ] = "read",		  [SYNC_PHASE_DIFF] = "diff",
    [SYNC_PHASE_IPVS] = "ipvs",		  [SYNC_PHASE_VIPS] = "vips",
    [SYNC_PHASE_NFTABLES] = "nftables",	  [SYNC_PHASE_CONNTRACK] = "conntrack",
    [SYNC_PHASE_RECORD] = "record",
};

const char *sync_phase_to_string(enum sync_phase p)
{
	return p < _SYNC_PHASE_MAX ? sync_phase_names[p] : "unknown";
}

double sync_phase_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sync_phases_add(struct sync_phases *dst, const struct sync_phases *src)
{
	for (int p = 0; p < _SYNC_PHASE_MAX; p++)
		dst->ms[p] += src->ms[p];
}

void sync_phase_add_since(struct sync_phases *ph, enum sync_phase p, double since_ms)
{
	ph->ms[p] += sync_phase_now_ms() - since_ms;
}

void sync_phases_format(const struct sync_phases *ph, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int p = 0; p < _SYNC_PHASE_MAX && used < size; p++) {
		int n = snprintf(buf + used, size - used, "%s%s_ms=%.1f", p ? " " : "",
				 sync_phase_to_string((enum sync_phase)p), ph->ms[p]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}
