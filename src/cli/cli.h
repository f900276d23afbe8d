/* thaw's subcommands. Each takes argc/argv after the subcommand name and
 * returns the process exit code; only src/cli prints and exits. */
#ifndef THAW_CLI_H
#define THAW_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "thaw/fit.h"
#include "thaw/onnx.h"

typedef struct thaw_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* one line, after "thaw NAME " */
	const char *help;  /* one line */
} thaw_cmd;

/* Loads a .thaw or .onnx model by its extension (or, failing that, its
 * first bytes: .thaw files start with 0x89 "THAW"); info and is_onnx may
 * be NULL. NULL on error, with the message in thaw_errmsg(). */
thaw_model *cli_load_model(const char *path, thaw_onnx_info *info, int *is_onnx);
/* The same without printing the load's warnings: the caller takes them
 * with thaw_warning_next() (the workbench puts them in its log). */
thaw_model *cli_open_model(const char *path, thaw_onnx_info *info, int *is_onnx);
/* Prints the library's collected warnings (thaw_warn) to stderr. */
void cli_print_warnings(void);

/* The CLI's sink of the event stream: training progress on stderr, each
 * line as thaw_event_format writes it; batches draw one updating line when
 * tty (stderr is a terminal), every other event a line. Returns 0.
 * cli_progress_end_line clears an open updating line before other output. */
int cli_progress_event(const thaw_event *ev, int tty);
void cli_progress_end_line(void);
/* "loading images N/T" on one updating line for folders of 200 images or
 * more; a thaw_image_opts / thaw_prepare_opts progress callback. */
void cli_load_progress(int done, int total, void *user);
/* A data set's notes (files skipped, conversions) on stderr, a line each:
 * "thaw CMD: note: ...". */
void cli_print_notes(const char *cmd, const thaw_dataset *d);

/* ---- parsing (args.c). Every command parses with cli_getopt, so options
 * behave as GNU users expect: --opt=value and --opt value, -oFILE and -o
 * FILE, unambiguous abbreviations, options before or after operands.
 *
 * Usage errors exit 1, like every other error: 2 already means "a
 * thaw.check failed" in thaw run, and CI must tell the two apart. */
#define CLI_EUSAGE 1

/* getopt_long for `thaw CMD`: returns the option's value, -1 after the last
 * option (operands then start at optind), or '?' after printing GNU's
 * message ("thaw data: unrecognized option '--frob'") and "Try 'thaw data
 * --help' for more information.". A new argv starts a new scan. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);
/* The option cli_getopt returned last, as "--name" or "-o". */
const char *cli_option(void);
/* Prints "thaw CMD: <message>" and the --help pointer; returns CLI_EUSAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The index of the first "--" in argv (argc when none): what follows it
 * belongs to a script, and getopt must not reorder it. */
int cli_dashdash(int argc, char **argv);
/* Whole-string number parsing: 0, or -1 when s is not a number in range. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out); /* finite */
/* The value of the current option: 0, or -1 after printing "thaw CMD:
 * --opt: expected a positive whole number, got 'abc'" (or the range).
 * cli_int: lo..hi (hi capped at INT_MAX); cli_u64: a seed, >= 0;
 * cli_positive: 0 < x <= hi. */
int cli_int(const char *s, long lo, long hi, int *out);
int cli_u64(const char *s, uint64_t *out);
int cli_positive(const char *s, double hi, double *out);
/* --resize MODE: stretch, crop or pad into *mode (a thaw_resize_mode). */
int cli_resize(const char *s, int *mode);

/* Prints "thaw NAME: <message>" to stderr. */
void cli_errorf(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_tui(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_options(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_lrfind(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_diff(int argc, char **argv);
/* more commands are added here and in main.c's table, one line each */

#endif
