/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel settings IPVS needs for Services: read first, written only when different, each
 * change logged with from= and to=, and never reverted (cleanup leaves them: other software on
 * the node may rely on them by then).
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

static void ipvs_sysctl_add(struct ipvs_sysctl *ret, size_t max, size_t *n, const char *name,
			    int value)
{
	if (*n < max) {
		ret[*n].name = name;
		ret[*n].value = value;
	}
	(*n)++;
}

size_t ipvs_sysctl_wanted(int major, int minor, bool ipv6, struct ipvs_sysctl *ret, size_t max)
{
	int reuse = ipvs_conn_reuse_mode_wanted(major, minor);
	size_t n = 0;

	/* IPVS connections visible to netfilter, so SNAT and conntrack see them. */
	ipvs_sysctl_add(ret, max, &n, "net/ipv4/vs/conntrack", 1);
	/* A deleted real server's connections expire at once instead of black-holing. */
	ipvs_sysctl_add(ret, max, &n, "net/ipv4/vs/expire_nodest_conn", 1);
	/* Affinity templates must not pin clients to a weight-0 (draining) server. */
	ipvs_sysctl_add(ret, max, &n, "net/ipv4/vs/expire_quiescent_template", 1);
	if (reuse >= 0)
		ipvs_sysctl_add(ret, max, &n, "net/ipv4/vs/conn_reuse_mode", reuse);
	ipvs_sysctl_add(ret, max, &n, "net/ipv4/ip_forward", 1);
	if (ipv6)
		ipvs_sysctl_add(ret, max, &n, "net/ipv6/conf/all/forwarding", 1);
	return n;
}

/* Reads an integer sysctl. 0 or -errno. */
static int ipvs_sysctl_read(const char *path, long *ret_value)
{
	char buf[64], *end;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long v;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EBADMSG;
	*ret_value = v;
	return 0;
}

static int ipvs_sysctl_write(const char *path, long value)
{
	char buf[32];
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
	int len = snprintf(buf, sizeof(buf), "%ld\n", value);

	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		return errno ? -errno : -EIO;
	return 0;
}

/* "net/ipv4/vs/conntrack" as the log names it: "net.ipv4.vs.conntrack". */
static void ipvs_sysctl_dotted(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
}

int ipvs_sysctl_ensure(const char *proc_root, const char *name, long value, const char *component,
		       const char *msg)
{
	char path[PATH_MAX], dotted[128];
	long cur = -1;
	int r;

	snprintf(path, sizeof(path), "%s/sys/%s", proc_root, name);
	r = ipvs_sysctl_read(path, &cur);
	if (r < 0)
		return r;
	if (cur == value)
		return 0;
	r = ipvs_sysctl_write(path, value);
	if (r < 0)
		return r;
	ipvs_sysctl_dotted(name, dotted, sizeof(dotted));
	log_info(component, msg, "sysctl=%s from=%ld to=%ld", dotted, cur, value);
	return 1;
}

int ipvs_sysctl_apply(const char *proc_root, int major, int minor, bool ipv6)
{
	struct ipvs_sysctl want[8];
	size_t n = ipvs_sysctl_wanted(major, minor, ipv6, want, ARRAY_SIZE(want));
	int changed = 0, first_err = 0;

	for (size_t i = 0; i < n && i < ARRAY_SIZE(want); i++) {
		int r = ipvs_sysctl_ensure(proc_root, want[i].name, want[i].value, "ipvs",
					   "sysctl set");

		if (r < 0) {
			char name[128];

			ipvs_sysctl_dotted(want[i].name, name, sizeof(name));
			log_warn("ipvs", "cannot set sysctl", "sysctl=%s to=%d err=\"%s\"", name,
				 want[i].value, strerror(-r));
			if (!first_err)
				first_err = r;
			continue;
		}
		changed += r;
	}
	return first_err ? first_err : changed;
}
