# The batch-size study (paper Figs. 2, 3, 8, 9): VGG-9 trained with small and large batches,
# with and without weight decay, a checkpoint kept every epoch. Each run also gets the
# per-run chain of the other stages (random directions, 2-D surface, 1-D curve, figures:
# Fig. 3's panels come from those). This file adds the optimizer paths and interpolations.


# Fig. 9: the two principal directions of a run's path (w_epoch - w_final over every saved
# epoch), every checkpoint projected onto them, and a grid that covers the path.
rule trajectory:
    input:
        CHECKPOINT,
    output:
        path=TRAJECTORY,
        directions=PCA_DIRECTIONS,
    log:
        f"{LOGS}/trajectory/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/trajectory/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        grid=trajectory_arguments(),
    shell:
        "landscape trajectory --checkpoints $(dirname {input}) --final {input} {params.grid}"
        " --out {output.path} --out-directions {output.directions} --no-progress > {log} 2>&1"


# The loss surface around the final model on the PCA directions, on the path's covering grid:
# a surface sweep like any other (shards, resume, merge), with its grid from the path file.
use rule surface_shard as pca_surface_shard with:
    input:
        checkpoint=CHECKPOINT,
        directions=PCA_DIRECTIONS,
        path=TRAJECTORY,
        data=ancient(dataset_files()),
    output:
        PCA_SHARD,
    log:
        f"{LOGS}/pca_surface_shard/{{run}}_{{shard}}-of-{{nshards}}.log",
    benchmark:
        f"{BENCHMARKS}/pca_surface_shard/{{run}}_{{shard}}-of-{{nshards}}.tsv"
    params:
        grid=lambda wildcards, input: f"--grid-from {input.path} --splits train",
        sweep=sweep_arguments(),
        data=data_arguments(),


use rule merge_surface as merge_pca_surface with:
    input:
        pca_shards,
    output:
        PCA_SURFACE,
    log:
        f"{LOGS}/merge_pca_surface/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/merge_pca_surface/{{run}}.tsv"


# Fig. 8: the same path projected onto the run's random (filter-normalized) directions, where
# it collapses near the origin: why random directions cannot show a trajectory.
rule random_path:
    input:
        checkpoint=CHECKPOINT,
        directions=DIRECTIONS,
    output:
        RANDOM_PATH,
    log:
        f"{LOGS}/random_path/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/random_path/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        grid=trajectory_arguments(),
    shell:
        "landscape project --checkpoints $(dirname {input.checkpoint}) --final {input.checkpoint}"
        " --directions {input.directions} {params.grid} --out {output} --no-progress"
        " > {log} 2>&1"


rule plot_trajectory:
    input:
        path=TRAJECTORY,
        surface=PCA_SURFACE,
    output:
        pdf=f"{RUN}/figures/fig9_{{run}}.pdf",
        png=in_report(f"{RUN}/figures/fig9_{{run}}.png", "fig9", "paper", {"figure": "fig9_{run}"}),
    log:
        f"{LOGS}/plot_trajectory/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_trajectory/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        style=path_style(),
        prefix=out_prefix,
    shell:
        "landscape plot-path --path {input.path} --surface {input.surface} --title {wildcards.run}"
        " {params.style} --out-prefix {params.prefix} --formats pdf png > {log} 2>&1"


use rule plot_trajectory as plot_random_path with:
    input:
        path=RANDOM_PATH,
        surface=SURFACE,
    output:
        pdf=f"{RUN}/figures/fig8_{{run}}.pdf",
        png=in_report(f"{RUN}/figures/fig8_{{run}}.png", "fig8", "paper", {"figure": "fig8_{run}"}),
    log:
        f"{LOGS}/plot_random_path/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_random_path/{{run}}.tsv"


# Fig. 2: per weight decay, the loss along theta_small + alpha (theta_large - theta_small),
# every state entry moving (BatchNorm running statistics too), train and test.
rule interpolation_direction:
    input:
        unpack(pair_checkpoints),
    output:
        INTERP_DIRECTION,
    log:
        f"{LOGS}/interpolation_direction/{{pair}}.log",
    benchmark:
        f"{BENCHMARKS}/interpolation_direction/{{pair}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "landscape directions --checkpoint {input.start} --target {input.target} --out {output}"
        " > {log} 2>&1"


rule interpolation:
    input:
        unpack(pair_checkpoints),
        directions=INTERP_DIRECTION,
        data=ancient(dataset_files()),
    output:
        INTERPOLATION,
    log:
        f"{LOGS}/interpolation/{{pair}}.log",
    benchmark:
        f"{BENCHMARKS}/interpolation/{{pair}}.tsv"
    threads: 1  # see common.smk
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        grid=interpolation_arguments(),
        sweep=sweep_arguments(),
        data=data_arguments(),
    shell:
        "landscape surface --checkpoint {input.start} --directions {input.directions}"
        " {params.grid} {params.data} {params.sweep} --out {output} > {log} 2>&1"


rule plot_interpolation:
    input:
        INTERPOLATION,
    output:
        pdf=f"{RUN}/figures/fig2_{{pair}}_1d.pdf",
        png=in_report(
            f"{RUN}/figures/fig2_{{pair}}_1d.png",
            "fig2",
            "paper",
            {"figure": "fig2_{pair}"},
            category=STUDIES["batch_size"],
        ),
    log:
        f"{LOGS}/plot_interpolation/{{pair}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_interpolation/{{pair}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        style=curve_style(),
        marks=interpolation_marks,
        prefix=f"{RUN}/figures/fig2_{{pair}}",
    shell:
        "landscape plot --surface {input} --kinds 1d --xlabel alpha {params.marks}"
        " --title 'weight decay {wildcards.pair}' {params.style} --out-prefix {params.prefix}"
        " --formats pdf png > {log} 2>&1"
