/* thaw: the command line. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/dist.h"

static const thaw_cmd commands[] = {
	{"tui", cmd_tui, "[SCRIPT [-- ARGS] | --model FILE --data SPEC [--val SPEC|FRACTION|none] [--classes A,B] [--per-class K] [--cut NAME]]",
	 "the workbench (plain `thaw` opens the default transfer session)"},
	{"run", cmd_run, "SCRIPT [--out DIR] [--seed N] [--resume DIR] [-- ARGS]",
	 "run a Lua experiment headless (CI): metrics, plots and the model in a run folder"},
	{"edit", cmd_edit, "IN -o OUT [--pop] [--truncate NAME] [--head N[:NAME]] [--freeze SEL] [--unfreeze SEL] [--lr-mult SEL=X] [--classes A,B] [--normalize PRESET] [--resize MODE]",
	 "cut and extend a model: pop, truncate, add a head, freeze, lr multipliers"},
	{"train", cmd_train, "[--data SPEC] [--model FILE [--cut NAME]] [--classes 0,1|A,B] [--per-class K] [--val SPEC|FRACTION|none] [--test SPEC] [--epochs N] [-o FILE] (see --help)",
	 "train headless (the reference CNN, or a model given a new head for the data's classes)"},
	{"predict", cmd_predict, "MODEL IMAGE|DIR... [--top K] [--json]",
	 "the top classes of image files (a DIR: every PNG/JPEG under it) with probabilities"},
	{"eval", cmd_eval, "MODEL --data SPEC [--confusion out.png] [--batch N]",
	 "evaluate a saved model: loss, accuracy, per-class accuracy, confusion matrix"},
	{"bench", cmd_bench, "[--model FILE [--input C,H,W]] [--batch N] [--seconds S] [--windows N] [--threads N] [--layers]", "measure training and inference speed"},
	{"data", cmd_data, "SPEC [--classes 5,6,7|A,B] [--per-class K] [--seed N] [--grid out.png] [--per-row N] [--size H[xW]] [--channels 1|3] [--resize stretch|crop|pad] [--skip-bad] [--export DIR [--format png|jpeg]]", "summarise, convert and export a data set (PNG or JPEG folders); write a sample grid"},
	{"summary", cmd_summary, "FILE", "show a .thaw or .onnx model: layers, parameters, input spec, classes"},
	{"import", cmd_import, "IN.onnx -o OUT.thaw", "import an ONNX model into a .thaw file"},
	{"export", cmd_export, "IN.thaw -o OUT.onnx", "export a model to ONNX"},
	{"diff", cmd_diff, "A B [--tolerance X] [--quiet]",
	 "the largest differences between two models' weights (reproducibility, MPI against one process)"},
	{"options", cmd_options, "[--markdown]", "the training options: thaw.fit's keys and thaw train's flags, with ranges"},
	{"fine-tune", cmd_finetune, "MODEL --data SPEC [--cut NAME] [--per-class K] [--epochs N] [--gradual] [-o OUT] (see --help)",
	 "transfer without tuning: the head on a frozen base, then everything with discriminative rates"},
	{"lr-find", cmd_lrfind, "MODEL --data SPEC [-o curve.png] [--cut NAME] [--unfreeze] [--steps N]",
	 "the learning-rate finder: sweep, suggested rate, curve as PNG (the model is left as it was)"},
	{"sweep", cmd_sweep, "SCRIPT --grid NAME=V1,V2 [--grid ...] [--repeat N] [--local N | --slurm [--partition P] [--time T] [--cpus-per-task N] [--mem M]] [--mpi N] [--out DIR] [--metric NAME] [-- ARGS] | --collect DIR",
	 "run a Lua experiment over a grid of parameters, here or on Slurm, and tabulate the results"},
	/* one line per command */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: thaw COMMAND [ARGS]\n       thaw help COMMAND | --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-8s %s\n           thaw %s %s\n", commands[i].name, commands[i].help,
			commands[i].name, commands[i].usage);
	fprintf(f, "\n`thaw COMMAND --help` (or `thaw help COMMAND`) explains a command; man thaw has it all.\n");
}

static const thaw_cmd *find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	fprintf(stderr, "thaw: unknown command '%s'\nTry 'thaw --help' for the list of commands.\n", name);
	return CLI_EUSAGE;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) /* the README's first command: the default workbench session */
		return cmd_tui(argc, argv);
	const char *a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help") || (!strcmp(a, "help") && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
		const char *mpi;
		printf("thaw " THAW_VERSION "\n");
		printf("mpi: %s\n", thaw_dist_built(&mpi) ? mpi : "no (built without MPI)");
		return 0;
	}
	if (!strcmp(a, "help")) { /* thaw help COMMAND is thaw COMMAND --help */
		const thaw_cmd *c = find(argv[2]);
		if (!c)
			return unknown_command(argv[2]);
		char help[] = "--help", *hv[] = {argv[2], help, NULL};
		return c->run(2, hv);
	}
	if (a[0] == '-') /* `thaw --frob`: the workbench's options go after `thaw tui` */
		return cmd_tui(argc, argv);
	const thaw_cmd *c = find(a);
	return c ? c->run(argc - 1, argv + 1) : unknown_command(a);
}

/* Under mpirun or srun every rank runs the same command: they join the MPI
 * job first, ranks other than 0 keep quiet on stdout (rank 0 reports), and
 * a rank that fails ends the whole job (thaw/dist.h, docs/distributed.md). */
int main(int argc, char **argv)
{
	if (thaw_dist_init() < 0) {
		fprintf(stderr, "thaw: %s\n", thaw_errmsg());
		return 1;
	}
	if (!thaw_dist_writer() && !freopen("/dev/null", "w", stdout))
		return thaw_dist_finish(1);
	if (thaw_dist_threads() > 0) /* ranks on one machine share its cores */
		thaw_blas_set_threads(thaw_dist_threads());
	return thaw_dist_finish(dispatch(argc, argv));
}
