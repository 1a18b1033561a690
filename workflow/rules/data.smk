# Stage 1: the data set, fetched (CIFAR-10, MD5-verified), generated (synthetic) or converted
# (digits, from scikit-learn) once into the shared data folder, so that parallel training
# jobs never download it concurrently. On failure the log's last line, the command's
# one-line error (where to put the archive, or use `synthetic` or `digits`), also goes to
# the terminal: Snakemake itself only says "check log".


rule data:
    output:
        dataset_files(),
    log:
        f"{LOGS}/data.log",
    benchmark:
        f"{BENCHMARKS}/data.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        data=data_arguments(),
    shell:
        "landscape data {params.data} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
