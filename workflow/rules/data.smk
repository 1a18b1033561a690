# Stage 1: the data set, fetched (CIFAR-10, MD5-verified) or generated (synthetic) once into
# the shared data folder, so that parallel training jobs never download it concurrently.


rule data:
    output:
        dataset_files(),
    params:
        dataset=config["dataset"],
        data_dir=data_root_of_output,
    log:
        f"{LOGS}/data.log",
    benchmark:
        f"{BENCHMARKS}/data.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    # The landscape CLI has no download-only command; this one line calls the library's loader.
    shell:
        "python -c \"from landscape import data;"
        " [data.load('{params.dataset}', split, '{params.data_dir}') for split in data.SPLITS]\""
        " > {log} 2>&1"
