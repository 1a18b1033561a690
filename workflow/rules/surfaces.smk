# Stage 4: loss surfaces. A 2-D surface is split into independent shard jobs (any machine,
# any order) that one merge job joins; the 1-D curve along x is one job.


rule surface_shard:
    input:
        checkpoint=CHECKPOINT,
        directions=DIRECTIONS,
        data=ancient(dataset_files()),
    output:
        SHARD,
    log:
        f"{LOGS}/surface_shard/{{run}}_{{shard}}-of-{{nshards}}.log",
    benchmark:
        f"{BENCHMARKS}/surface_shard/{{run}}_{{shard}}-of-{{nshards}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        grid=surface_arguments(),
        sweep=sweep_arguments(),
        data=data_arguments(),
    shell:
        "landscape surface --checkpoint {input.checkpoint} --directions {input.directions}"
        " {params.grid} --shard {wildcards.shard}/{wildcards.nshards} {params.data}"
        " {params.sweep} --out {output} > {log} 2>&1"


rule merge_surface:
    input:
        surface_shards,
    output:
        SURFACE,
    log:
        f"{LOGS}/merge_surface/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/merge_surface/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "landscape merge {input} --out {output} > {log} 2>&1"


rule surface_curve:
    input:
        checkpoint=CHECKPOINT,
        directions=DIRECTIONS,
        data=ancient(dataset_files()),
    output:
        CURVE,
    log:
        f"{LOGS}/surface_curve/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/surface_curve/{{run}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    params:
        grid=curve_arguments(),
        sweep=sweep_arguments(),
        data=data_arguments(),
    shell:
        "landscape surface --checkpoint {input.checkpoint} --directions {input.directions}"
        " {params.grid} {params.data} {params.sweep} --out {output} > {log} 2>&1"
