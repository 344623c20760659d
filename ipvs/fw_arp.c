/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict ARP (ipvs/fw.h): with VIPs on a dummy interface, the node would answer ARP for every
 * VIP on every interface; arp_ignore=1 and arp_announce=2 stop that, which MetalLB-style L2
 * announcements need. Read first, written only when different, never reverted.
 */
#include "fw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

static int fw_arp_read(const char *path, long *ret_value)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[32], *end;
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

static int fw_arp_write(const char *path, long value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", value);

	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		return errno ? -errno : -EIO;
	return 0;
}

int fw_strict_arp_apply(const char *proc_root, bool enable)
{
	static const struct {
		const char *name;
		long value;
	} want[] = {
	    {"net/ipv4/conf/all/arp_ignore", 1},
	    {"net/ipv4/conf/all/arp_announce", 2},
	};
	int changed = 0, first_err = 0;

	if (!enable)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		char path[PATH_MAX], name[64];
		long cur = -1;
		int r;

		snprintf(path, sizeof(path), "%s/sys/%s", proc_root, want[i].name);
		snprintf(name, sizeof(name), "%s", want[i].name);
		for (char *p = name; *p; p++)
			if (*p == '/')
				*p = '.';
		r = fw_arp_read(path, &cur);
		if (r == 0 && cur == want[i].value)
			continue;
		if (r == 0)
			r = fw_arp_write(path, want[i].value);
		if (r < 0) {
			if (!first_err)
				first_err = r;
			continue;
		}
		log_info("fw", "strict ARP sysctl set", "sysctl=%s from=%ld to=%ld", name, cur,
			 want[i].value);
		changed++;
	}
	return first_err ? first_err : changed;
}
