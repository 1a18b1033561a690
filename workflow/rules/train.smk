# Stage 2: train each run (a model with its recipe). Only final.pt and metrics.csv are declared: Snakemake deletes the
# declared outputs of a failed job, so a killed training keeps its resume.pt and a rerun of
# the same job continues from the last finished epoch.
#
# A changed recipe reruns the job too: --restart-if-changed then starts afresh instead of
# refusing the old run's resume.pt (a killed job of the same recipe still resumes).
#
# The log gets one line per epoch (loss, accuracy, lr, ETA; no bar); on failure its last
# line, the one-line error, is repeated on the terminal.


rule train:
    input:
        data=ancient(dataset_files()),  # content-verified by the library; mtimes mean nothing
    output:
        checkpoint=CHECKPOINT,
        metrics=METRICS,
    log:
        f"{LOGS}/train/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{run}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    params:
        data=data_arguments(),
        recipe=train_arguments,
    shell:
        "landscape train {params.recipe} {params.data}"
        " --out $(dirname {output.checkpoint})"
        " --restart-if-changed --no-progress > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
