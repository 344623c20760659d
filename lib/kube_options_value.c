/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Value parsers for the options: Go durations, booleans, CIDR lists, IP:port bind addresses,
 * node names and label values. The flags and the KubeProxyConfiguration reader share them, so
 * a value means the same wherever it is written.
 */
#include "kube_options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kube_options_internal.h"

struct kube_duration_unit {
	const char *name;
	uint64_t ns;
};

static const struct kube_duration_unit kube_duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 }, /* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000ull },
	{ "m", 60ull * 1000000000ull },
	{ "h", 3600ull * 1000000000ull },
};

/*
 * Go's time.ParseDuration, re-implemented: [-+]? then ([0-9]*(\.[0-9]*)?unit)+, or "0".
 * Fractions are computed in double precision as Go computes them, so results match to the
 * nanosecond.
 */
int kube_options_duration_parse(const char *text, int64_t *ret_ns)
{
	const uint64_t max = (uint64_t)1 << 63; /* |INT64_MIN| */
	const char *s = text;
	uint64_t total = 0;
	bool neg = false;

	if (!s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ret_ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0, frac = 0, unit_ns = 0;
		double scale = 1;
		bool pre = false, post = false, frac_full = false;
		const char *unit;
		size_t unit_len;

		if (*s != '.' && !isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++) {
			pre = true;
			if (v > (max - (uint64_t)(*s - '0')) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			s++;
			for (; isdigit((unsigned char)*s); s++) {
				uint64_t next;

				post = true;
				/* Digits past what 63 bits carry only lose precision, as in Go. */
				if (frac_full || frac > (max - 1) / 10) {
					frac_full = true;
					continue;
				}
				next = frac * 10 + (uint64_t)(*s - '0');
				if (next > max) {
					frac_full = true;
					continue;
				}
				frac = next;
				scale *= 10;
			}
		}
		if (!pre && !post)
			return -EINVAL;
		unit = s;
		while (*s && *s != '.' && !isdigit((unsigned char)*s))
			s++;
		unit_len = (size_t)(s - unit);
		if (unit_len == 0)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(kube_duration_units); i++)
			if (strlen(kube_duration_units[i].name) == unit_len &&
			    memcmp(kube_duration_units[i].name, unit, unit_len) == 0)
				unit_ns = kube_duration_units[i].ns;
		if (unit_ns == 0)
			return -EINVAL;
		if (v > max / unit_ns)
			return -ERANGE;
		v *= unit_ns;
		if (frac > 0) {
			/* frac/scale of a unit, rounded in double precision exactly as Go does. */
			v += (uint64_t)((double)frac * ((double)unit_ns / scale));
			if (v > max)
				return -ERANGE;
		}
		total += v;
		if (total > max)
			return -ERANGE;
	}
	if (!neg && total > max - 1)
		return -ERANGE;
	*ret_ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

int kube_options_ms_parse(const char *text, bool bare_seconds, uint64_t *ret_ms, char *why,
			  size_t why_size)
{
	int64_t ns;
	int r;

	if (bare_seconds && text[0] && strspn(text, "0123456789") == strlen(text)) {
		/* kipvs's own flags have always taken a plain number of seconds. */
		char *end = NULL;
		unsigned long long v;

		errno = 0;
		v = strtoull(text, &end, 10);
		if (errno || v > UINT64_MAX / 1000) {
			snprintf(why, why_size, "too long");
			return -EINVAL;
		}
		*ret_ms = (uint64_t)v * 1000;
		return 0;
	}
	r = kube_options_duration_parse(text, &ns);
	if (r == -ERANGE) {
		snprintf(why, why_size, "duration out of range");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(why, why_size, "not a duration (e.g. '5s', '1m', '2h22m')");
		return -EINVAL;
	}
	if (ns < 0) {
		snprintf(why, why_size, "must not be negative");
		return -EINVAL;
	}
	*ret_ms = (uint64_t)ns / 1000000;
	return 0;
}

int kube_options_bool_parse(const char *text, bool *ret, char *why, size_t why_size)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(text, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(text, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	snprintf(why, why_size, "want true or false");
	return -EINVAL;
}

int kube_options_cidr_add(struct net_prefix **v, size_t *n, const char *text, char *why,
			  size_t why_size)
{
	struct net_prefix prefix, *grown;

	/* A bare address is not a CIDR here: kube-proxy requires the prefix length. */
	if (!strchr(text, '/') || net_prefix_parse(text, &prefix) < 0) {
		snprintf(why, why_size, "'%.64s' is not a CIDR (address/length)", text);
		return -EINVAL;
	}
	grown = reallocarray(*v, *n + 1, sizeof(**v));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	(*v)[(*n)++] = prefix;
	return 0;
}

int kube_options_cidr_list_add(struct net_prefix **v, size_t *n, const char *text, char *why,
			       size_t why_size)
{
	_cleanup_free_ char *copy = strdup(text);
	char *item, *rest;
	int r;

	if (!copy)
		return -ENOMEM;
	if (!copy[0])
		return 0;
	for (rest = copy; (item = strsep(&rest, ",")) != NULL;) {
		char *end;

		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*item) {
			snprintf(why, why_size, "empty item in the list");
			return -EINVAL;
		}
		r = kube_options_cidr_add(v, n, item, why, why_size);
		if (r < 0)
			return r;
	}
	return 0;
}

int kube_options_bind_parse(const char *text, uint16_t default_port,
			    struct kube_options_bind *ret, char *why, size_t why_size)
{
	char host[NET_ADDR_STRLEN];
	const char *port_text = NULL;
	struct kube_options_bind b = { 0 };
	unsigned long port = default_port;
	size_t len;

	if (!text[0]) {
		*ret = b;
		return 0;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		len = (size_t)(close - text - 1);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (!strchr(host, ':'))
			goto bad; /* brackets are for IPv6 only */
		if (close[1] == ':')
			port_text = close + 2;
	} else if (net_addr_parse(text, &b.addr) == 0) {
		/* A bare address; an IPv6 one takes no port without brackets. */
		(void)snprintf(host, sizeof(host), "%s", text);
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon || strchr(text, ':') != colon)
			goto bad;
		len = (size_t)(colon - text);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, text, len);
		host[len] = '\0';
		port_text = colon + 1;
	}
	if (net_addr_parse(host, &b.addr) < 0)
		goto bad;
	if (port_text) {
		char *end = NULL;

		if (!isdigit((unsigned char)port_text[0]))
			goto bad;
		errno = 0;
		port = strtoul(port_text, &end, 10);
		if (errno || *end || port > 65535)
			goto bad;
	}
	b.port = (uint16_t)port;
	if (b.port == 0)
		memset(&b, 0, sizeof(b));
	*ret = b;
	return 0;
bad:
	snprintf(why, why_size, "want IP:port or [IPv6]:port (port 0 or empty disables)");
	return -EINVAL;
}

int kube_options_cluster_cidrs_check(const struct kube_options *o, char *why, size_t why_size)
{
	if (o->n_cluster_cidrs > 2 ||
	    (o->n_cluster_cidrs == 2 &&
	     o->cluster_cidrs[0].addr.family == o->cluster_cidrs[1].addr.family)) {
		snprintf(why, why_size,
			 "one CIDR, or an IPv4 and an IPv6 CIDR (e.g. 10.244.0.0/16,fd00:10:244::/56)");
		return -EINVAL;
	}
	return 0;
}

int kube_options_hostname_parse(const char *text, char **ret, char *why, size_t why_size)
{
	const char *end;
	char *name;
	size_t len;

	while (isspace((unsigned char)*text))
		text++;
	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - text);
	if (len == 0 || len > KUBE_OPTIONS_HOSTNAME_MAX) {
		snprintf(why, why_size, "a node name has 1 to %d characters",
			 KUBE_OPTIONS_HOSTNAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)text[i]) || text[i] == '/') {
			snprintf(why, why_size, "a node name has no spaces, slashes or controls");
			return -EINVAL;
		}
	name = strndup(text, len);
	if (!name)
		return -ENOMEM;
	/* Node names are lower case; kube-proxy lowers the name the same way. */
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*ret = name;
	return 0;
}

bool kube_options_label_value_is_valid(const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len > 63)
		return false;
	if (!isalnum((unsigned char)text[0]) || !isalnum((unsigned char)text[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)text[i]) && !strchr("-_.", text[i]))
			return false;
	return true;
}

int kube_options_string_set(char **dst, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}
