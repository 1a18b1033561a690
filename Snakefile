# Visualizing the Loss Landscape of Neural Nets (Li et al., NeurIPS 2018), end to end:
# data -> training -> directions -> surface shards -> merged surfaces -> figures and table.
#
#   snakemake --cores all                                    # the paper (GPU advised)
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
    # Under an unknown key Snakemake prints the whole schema: name the key in one line instead.
    error = exc.__context__  # jsonschema's ValidationError
    if getattr(error, "validator", None) != "additionalProperties":
        raise
    where = "config key " + ".".join(map(str, error.path)) if error.path else "config"
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


# The data rule may download CIFAR-10: on a cluster it runs where the workflow was started.
localrules:
    all,
    data,


rule all:
    default_target: True
    input:
        final_outputs(),
