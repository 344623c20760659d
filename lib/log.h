/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logging in logfmt on stderr (style.md §4):
 *   level=warn component=ipvs msg="add destination failed" svc=default/web err="No such process"
 * The caller that knows the object logs, once.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	_LOG_LEVEL_MAX,
};

const char *log_level_to_string(enum log_level level);

/* -v N: 0 shows error/warn/info, 1 and more show debug. */
void log_set_verbosity(int verbosity);
/* Tests redirect the log to capture it; NULL restores stderr. */
void log_set_stream(FILE *stream);
bool log_is_enabled(enum log_level level);

/*
 * Writes one line: level, component, msg (quoted when needed), then `fields`, a printf format
 * of further key=value pairs (may be NULL). Values with spaces must be quoted by the caller,
 * or passed through log_quote(). Pass "" when there are none.
 */
void log_write(enum log_level level, const char *component, const char *msg, const char *fields,
	       ...) __attribute__((format(printf, 4, 5)));

/*
 * Quotes `s` for logfmt into `buf` when it holds a space, a quote, '=' or a control character;
 * otherwise copies it. Returns buf. Truncates to the buffer.
 */
const char *log_quote(char *buf, size_t size, const char *s);

#define log_error(comp, msg, ...) log_write(LOG_LEVEL_ERROR, comp, msg, __VA_ARGS__)
#define log_warn(comp, msg, ...) log_write(LOG_LEVEL_WARN, comp, msg, __VA_ARGS__)
#define log_info(comp, msg, ...) log_write(LOG_LEVEL_INFO, comp, msg, __VA_ARGS__)
#define log_debug(comp, msg, ...) log_write(LOG_LEVEL_DEBUG, comp, msg, __VA_ARGS__)
