# Visualizing the Loss Landscape of Neural Nets (Li et al., NeurIPS 2018), end to end:
# data -> training -> directions -> surface shards -> merged surfaces -> figures and tables,
# for the architecture study (Figs. 1, 4, 5, 6), the batch-size study (Figs. 2, 3, 8, 9:
# trajectories, interpolations) and curvature (Fig. 7: Hessian eigenvalue maps).
#
#   snakemake --cores all                                    # the paper (GPU advised)
#   snakemake --cores all fig7                               # one figure and what it needs
#   snakemake --cores 2 --configfile presets/smoke.yaml      # offline demo, minutes on a CPU
#   snakemake --report results/<run_name>/report.html ...    # the HTML report (same options)
#
# Every stage is one `landscape <subcommand>`; see docs/workflow.md.
#
# `snakemake --lint` asks for a conda environment or container per rule. Deliberately none:
# every rule runs the `landscape` command of the environment Snakemake itself is installed in
# (`pip install -e .` installs both), so one environment holds torch once, not once per rule.

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("8.20")


# The paper; presets and --config layer over it. Anchored to this file, so --directory works.
configfile: f"{workflow.basedir}/config.yaml"


try:
    validate(config, "workflow/schemas/config.schema.yaml")
except WorkflowError as exc:
    # Under an unknown key, or a key given no value (`--config run_name=` sets it to None),
    # Snakemake prints the whole schema: name the key in one line instead.
    error = exc.__context__  # jsonschema's ValidationError
    validator = getattr(error, "validator", None)
    empty = validator == "type" and error.instance is None
    if validator != "additionalProperties" and not empty:
        raise
    where = "config key " + ".".join(map(str, error.path)) if error.path else "config"
    if empty:
        kinds = error.schema["type"]
        kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
        default = error.schema.get("default")
        example = f", e.g. its default {default!r}" if default is not None else ""
        raise WorkflowError(
            f"{where}: no value given (empty); it needs a {kinds}{example}"
        ) from None
    valid = ", ".join(error.schema.get("properties", {}))
    raise WorkflowError(f"{where}: {error.message}; valid keys: {valid}") from None


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/directions.smk"
include: "workflow/rules/surfaces.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/batch_size.smk"
include: "workflow/rules/curvature.smk"
include: "workflow/rules/claims.smk"


# The data rule may download CIFAR-10: on a cluster it runs where the workflow was started.
localrules:
    all,
    data,


rule all:
    default_target: True
    input:
        final_outputs(),


# One target per figure of the paper: `snakemake --cores all fig2` builds Fig. 2 and what it
# needs, nothing else.
for number in range(1, 10):

    rule:
        name:
            f"fig{number}"
        input:
            paper_figures(number),
        localrule: True
