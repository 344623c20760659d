/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The subcommands of the kipvs binary. Each takes argc/argv starting at its own name and
 * returns the process exit code: 0 success, 1 runtime failure, 2 usage or invalid value.
 */
#pragma once

#include <stdio.h>

#include "kube_options.h"

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

/* cmd_options_begin(): no exit status yet, the subcommand goes on. */
#define CMD_CONTINUE (-1)

/*
 * The start of a subcommand that takes kipvs's options (name: "run", "plan", "cleanup"): with
 * -h or --help, prints usage to stdout and returns EXIT_OK; otherwise parses argv for cmd into
 * o (the caller clears it with kube_options_clear()) and sets the log verbosity. An invalid
 * option prints the parser's message and a --help hint (EXIT_USAGE); ENOMEM prints "kipvs
 * <name>: out of memory" (EXIT_RUNTIME). Returns CMD_CONTINUE when the subcommand goes on, else
 * the exit status to return.
 */
int cmd_options_begin(int argc, char **argv, enum kube_options_cmd cmd, const char *name,
		      void (*usage)(FILE *stream), struct kube_options *o);
