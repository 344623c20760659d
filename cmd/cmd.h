/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The subcommands of the kipvs binary. Each takes argc/argv starting at its own name and
 * returns the process exit code: 0 success, 1 runtime failure, 2 usage or invalid value.
 */
#pragma once

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
};

struct cmd {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);
};

int cmd_run_main(int argc, char **argv);
int cmd_plan_main(int argc, char **argv);
int cmd_cleanup_main(int argc, char **argv);
int cmd_version_main(int argc, char **argv);

/* True when argv holds -h or --help; subcommands then print their usage and exit 0. */
int cmd_wants_help(int argc, char **argv);
