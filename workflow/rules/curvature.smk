# Curvature (paper Fig. 7): at every grid point the largest and smallest eigenvalue of the
# Hessian of the mean training loss, sharded and resumable like a loss surface, and the map
# of |lambda_min / lambda_max| above the loss contour of the same grid.


rule hessian_shard:
    input:
        checkpoint=CHECKPOINT,
        directions=DIRECTIONS,
        data=ancient(dataset_files()),
    output:
        HESSIAN_SHARD,
    log:
        f"{LOGS}/hessian_shard/{{run}}_{{shard}}-of-{{nshards}}.log",
    benchmark:
        f"{BENCHMARKS}/hessian_shard/{{run}}_{{shard}}-of-{{nshards}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    params:
        spec=hessian_arguments(),
        data=data_arguments(),
    shell:
        "landscape hessian --checkpoint {input.checkpoint} --directions {input.directions}"
        " {params.spec} --shard {wildcards.shard}/{wildcards.nshards} {params.data}"
        " --no-progress --out {output} > {log} 2>&1"


use rule merge_surface as merge_hessian with:
    input:
        hessian_shards,
    output:
        HESSIAN,
    log:
        f"{LOGS}/merge_hessian/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/merge_hessian/{{run}}.tsv"


rule plot_curvature:
    input:
        expand(HESSIAN, run=config["curvature"]["models"]),
    output:
        pdf=f"{RUN}/figures/fig7_curvature.pdf",
        png=in_report(
            f"{RUN}/figures/fig7_curvature.png",
            "fig7",
            "paper",
            {"figure": "fig7"},
            category=STUDIES["curvature"],
        ),
    log:
        f"{LOGS}/plot_curvature.log",
    benchmark:
        f"{BENCHMARKS}/plot_curvature.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=" ".join(config["curvature"]["models"]),
        style=curvature_style(),
        prefix=out_prefix,
    shell:
        "landscape curvature --surfaces {input} --models {params.models} {params.style}"
        " --out-prefix {params.prefix} --formats pdf png > {log} 2>&1"
