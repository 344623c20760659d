/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bodies of kube-proxy's health endpoints, byte for byte in the shape load balancers and
 * operators' scripts already parse.
 */
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int health_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
{
	time_t secs = (time_t)(unix_ns / 1000000000);
	long nanos = (long)(unix_ns % 1000000000);
	struct tm tm;
	char frac[16] = "";
	int n;

	if (unix_ns == HEALTH_TIME_ZERO) {
		int z = snprintf(buf, size, "0001-01-01T00:00:00Z");

		return z < 0 || (size_t)z >= size ? -ENOSPC : z;
	}
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
		n = snprintf(buf, size,
			     "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", "
			     "\"nodeEligible\": %s}",
			     last, now, node_eligible ? "true" : "false");
	else
		n = snprintf(buf, size, "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"}", last,
			     now);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

/* Appends s as a JSON string (with quotes) at buf+*pos; false when it does not fit. */
static bool health_json_put_string(char *buf, size_t size, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *pos;

	if (n + 1 >= size)
		return false;
	buf[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t len = 0;

		if (c == '"' || c == '\\') {
			esc[len++] = '\\';
			esc[len++] = (char)c;
		} else if (c < 0x20) {
			esc[len++] = '\\';
			esc[len++] = 'u';
			esc[len++] = '0';
			esc[len++] = '0';
			esc[len++] = hex[c >> 4];
			esc[len++] = hex[c & 0xf];
		} else {
			esc[len++] = (char)c;
		}
		if (n + len + 1 >= size)
			return false;
		memcpy(buf + n, esc, len);
		n += len;
	}
	if (n + 2 > size)
		return false;
	buf[n++] = '"';
	buf[n] = '\0';
	*pos = n;
	return true;
}

static bool health_json_put_raw(char *buf, size_t size, size_t *pos, const char *s)
{
	size_t len = strlen(s);

	if (*pos + len + 1 > size)
		return false;
	memcpy(buf + *pos, s, len + 1);
	*pos += len;
	return true;
}

int health_service_body(char *buf, size_t size, const char *ns, const char *name,
			unsigned local_endpoints, bool proxy_healthy)
{
	char tail[96];
	size_t pos = 0;

	/* The shape of kube-proxy's service_health.go, keys in the same order. */
	(void)snprintf(tail, sizeof(tail), "},\"localEndpoints\":%u,\"serviceProxyHealthy\":%s}",
		       local_endpoints, proxy_healthy ? "true" : "false");
	if (size == 0 || !health_json_put_raw(buf, size, &pos, "{\"service\":{\"namespace\":") ||
	    !health_json_put_string(buf, size, &pos, ns) ||
	    !health_json_put_raw(buf, size, &pos, ",\"name\":") ||
	    !health_json_put_string(buf, size, &pos, name) ||
	    !health_json_put_raw(buf, size, &pos, tail))
		return -ENOSPC;
	return (int)pos;
}
