/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon_run(): the daemon bound to the real kernel side. Each operation of the kernel seam is
 * the ipvs_node function of the same name. The unit tests build the daemon with a recording
 * fake instead (and so never link this file); the guest integration tests run this one.
 */
#include "daemon.h"
#include "daemon_internal.h"

#include <signal.h>

#include "ipvs.h"
#include "log.h"

static int daemon_kernel_open(const struct ipvs_node_config *cfg, void **ret_kernel, char *err,
			      size_t err_size)
{
	struct ipvs_node *node = NULL;
	int r = ipvs_node_open(cfg, &node, err, err_size);

	if (r < 0)
		return r;
	*ret_kernel = node;
	return 0;
}

static void *daemon_kernel_free(void *kernel)
{
	return ipvs_node_free(kernel);
}

static int daemon_kernel_sync(void *kernel, const struct plan_table *desired,
			      struct ipvs_node_result *ret_result)
{
	return ipvs_node_sync(kernel, desired, ret_result);
}

static int daemon_kernel_drain_sweep(void *kernel, struct ipvs_node_result *ret_result)
{
	return ipvs_node_drain_sweep(kernel, ret_result);
}

static unsigned daemon_kernel_draining_count(const void *kernel)
{
	return ipvs_node_draining_count(kernel);
}

static void daemon_kernel_request_verify(void *kernel)
{
	ipvs_node_request_verify(kernel);
}

static int daemon_kernel_stats_foreach(void *kernel, ipvs_node_stats_fn fn, void *userdata)
{
	return ipvs_node_stats_foreach(kernel, fn, userdata);
}

const struct daemon_kernel_ops daemon_kernel_ipvs = {
    .open = daemon_kernel_open,
    .free = daemon_kernel_free,
    .sync = daemon_kernel_sync,
    .drain_sweep = daemon_kernel_drain_sweep,
    .draining_count = daemon_kernel_draining_count,
    .request_verify = daemon_kernel_request_verify,
    .stats_foreach = daemon_kernel_stats_foreach,
};

int daemon_run(const struct kube_options *opts)
{
	const struct daemon_env env = {.kernel = &daemon_kernel_ipvs};
	struct daemon *d = NULL;
	int r;

	/* A peer closing a connection must not kill the daemon. */
	(void)signal(SIGPIPE, SIG_IGN);
	r = daemon_new(opts, &env, &d);
	if (r < 0)
		return 1;
	daemon_loop(d);
	d = daemon_free(d);
	log_info("daemon", "stopped", "");
	return 0;
}
