/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bodies of kube-proxy's health endpoints, byte for byte in the shape load balancers and
 * operators' scripts already parse.
 */
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int health_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
{
	time_t secs = (time_t)(unix_ns / 1000000000);
	long nanos = (long)(unix_ns % 1000000000);
	struct tm tm;
	char frac[16] = "";
	int n;

	if (nanos < 0) {
		nanos += 1000000000;
		secs -= 1;
	}
	if (!gmtime_r(&secs, &tm))
		return -EINVAL;
	if (nanos) {
		/* Go trims trailing zeros of the fraction. */
		int len = snprintf(frac, sizeof(frac), ".%09ld", nanos);

		while (len > 1 && frac[len - 1] == '0')
			frac[--len] = '\0';
	}
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int health_proxy_body(char *buf, size_t size, int64_t last_updated_ns, int64_t now_ns,
		      bool with_node_eligible, bool node_eligible)
{
	char last[64], now[64];
	int n;

	if (health_format_rfc3339(last_updated_ns, last, sizeof(last)) < 0 ||
	    health_format_rfc3339(now_ns, now, sizeof(now)) < 0)
		return -ENOSPC;
	if (with_node_eligible)
		n = snprintf(buf, size, "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", "
					"\"nodeEligible\": %s}",
			     last, now, node_eligible ? "true" : "false");
	else
		n = snprintf(buf, size, "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"}", last,
			     now);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
