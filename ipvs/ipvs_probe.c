/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Facts about the running kernel that decide how kipvs configures IPVS: whether IPVS is
 * loaded, and which kernel version-dependent sysctl values apply.
 */
#include "ipvs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bool ipvs_probe_is_loaded(const char *proc_root)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/net/ip_vs", proc_root) >= (int)sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

int ipvs_kernel_version_parse(const char *release, int *ret_major, int *ret_minor)
{
	char *end;
	long major, minor;

	if (!release)
		return -EINVAL;
	errno = 0;
	major = strtol(release, &end, 10);
	if (errno || end == release || *end != '.' || major < 0 || major > 1000)
		return -EINVAL;
	release = end + 1;
	minor = strtol(release, &end, 10);
	if (errno || end == release || minor < 0 || minor > 1000)
		return -EINVAL;
	*ret_major = (int)major;
	*ret_minor = (int)minor;
	return 0;
}

int ipvs_conn_reuse_mode_wanted(int major, int minor)
{
	int v = major * 1000 + minor;

	if (v >= 4001 && v < 5009)
		return 0;
	return -1;
}
