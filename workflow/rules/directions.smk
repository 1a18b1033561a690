# Stage 3: one random direction pair per run, filter-normalized (the paper's setting).


rule directions:
    input:
        checkpoint=CHECKPOINT,
    output:
        DIRECTIONS,
    log:
        f"{LOGS}/directions/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/directions/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        spec=direction_arguments(),
    shell:
        "landscape directions --checkpoint {input.checkpoint} {params.spec} --out {output}"
        " > {log} 2>&1"
