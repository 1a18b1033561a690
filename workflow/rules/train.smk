# Stage 2: train each model. Only final.pt and metrics.csv are declared: Snakemake deletes the
# declared outputs of a failed job, so a killed training keeps its resume.pt and a rerun of
# the same job continues from the last finished epoch.
#
# A changed recipe reruns the job too, and `landscape train` refuses to resume a run of other
# settings. So the job records its arguments in workflow.args beside the checkpoints, and
# when they differ from the recorded ones it discards the old run's files and starts afresh
# (the data folder is left out: moving the data set resumes, and ends at once).


rule train:
    input:
        data=ancient(dataset_files()),  # content-verified by the library; mtimes mean nothing
    output:
        checkpoint=CHECKPOINT,
        metrics=METRICS,
    params:
        dataset=config["dataset"],
        data_dir=data_root_of_input,
        recipe=train_arguments,
    log:
        f"{LOGS}/train/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{model}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    shell:
        """
        out=$(dirname {output.checkpoint})
        args="--model {wildcards.model} --dataset {params.dataset} {params.recipe}"
        if [ "$(cat $out/workflow.args 2>/dev/null)" != "$args" ]; then
            rm -f $out/resume.pt $out/epoch_*.pt
            echo "$args" > $out/workflow.args
        fi
        landscape train $args --data-dir {params.data_dir} --out $out > {log} 2>&1
        """
