# Stage 5: figures (PDF and PNG): every configured 2-D kind and the 1-D curve per run, the
# multi-run panels (the paper's Figs. 1, 3, 4, 5, 6), the training curves of each study and
# the 3-D exports (.vtp, for ParaView). The PNGs go into the HTML report (common.smk, section figures).


rule plot_surface:
    input:
        SURFACE,
    output:
        surface_figures("pdf"),
        surface_figures("png"),
    log:
        f"{LOGS}/plot_surface/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_surface/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        kinds=" ".join(config["plot"]["kinds"]),
        style=plot_style(),
        prefix=f"{RUN}/figures/{{run}}",
    shell:
        "landscape plot --surface {input} --out-prefix {params.prefix} --kinds {params.kinds}"
        " {params.style} --formats pdf png > {log} 2>&1"


rule plot_curve:
    input:
        CURVE,
    output:
        pdf=f"{RUN}/figures/{{run}}_1d.pdf",
        png=in_report(
            f"{RUN}/figures/{{run}}_1d.png",
            "curve",
            "models",
            {"model": "{run}", "figure": "1d"},
        ),
    log:
        f"{LOGS}/plot_curve/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_curve/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        style=curve_style(),
        prefix=f"{RUN}/figures/{{run}}",
    shell:
        "landscape plot --surface {input} --out-prefix {params.prefix} --kinds 1d"
        " {params.style} --formats pdf png > {log} 2>&1"


rule panel:
    input:
        surfaces=panel_surfaces,
        metrics=panel_metrics,
    output:
        pdf=f"{RUN}/figures/{{panel}}.pdf",
        png=in_report(
            f"{RUN}/figures/{{panel}}.png",
            "panel",
            "paper",
            {"figure": "{panel}"},
            category=lambda wildcards: STUDIES[panel_study(wildcards.panel)],
        ),
    log:
        f"{LOGS}/panel/{{panel}}.log",
    benchmark:
        f"{BENCHMARKS}/panel/{{panel}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        layout=panel_arguments,
        prefix=f"{RUN}/figures/{{panel}}",
    shell:
        "landscape panel --surfaces {input.surfaces} --metrics {input.metrics}"
        " {params.layout} --out-prefix {params.prefix} --formats pdf png > {log} 2>&1"


rule training_curves:
    input:
        study_metrics,
    output:
        pdf=TRAINING_CURVES.replace("{ext}", "pdf"),
        png=in_report(
            TRAINING_CURVES.replace("{ext}", "png"),
            "training",
            "training",
            {"figure": "loss and error per epoch"},
            category=lambda wildcards: STUDIES[wildcards.study],
        ),
    log:
        f"{LOGS}/training_curves/{{study}}.log",
    benchmark:
        f"{BENCHMARKS}/training_curves/{{study}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=lambda wildcards: " ".join(study_runs(wildcards)),
        recipe=study_recipes,  # the caption's numbers
        style=figure_arguments(),
        prefix=out_prefix,
    shell:
        "landscape training-curves --metrics {input} --models {params.models}"
        " --out-prefix {params.prefix} --formats pdf png {params.style} > {log} 2>&1"


# The README's pictures: this run's paper figures, copied into docs/img/. Not part of `all`;
#   snakemake --cores 2 docs/img/smoke_fig5_panel.png --configfile presets/smoke.yaml
# (the targets before --configfile, which takes every name after it for a config file)
rule readme_picture:
    input:
        f"{RUN}/figures/{{figure}}.png",
    output:
        f"docs/img/{config['run_name']}_{{figure}}.png",
    log:
        f"{LOGS}/readme_picture/{{figure}}.log",
    wildcard_constraints:
        figure=r"fig[1-9]_[\w.]+",
    threads: 1
    shell:
        "cp {input} {output} > {log} 2>&1"


# A 2-D surface as a VTK PolyData mesh (ParaView renders the paper's 3-D figures from these).
rule vtp:
    input:
        SURFACE,
    output:
        VTP,
    log:
        f"{LOGS}/vtp/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/vtp/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        style=vtp_arguments(),
    shell:
        "landscape vtp --surface {input} {params.style} --out {output} > {log} 2>&1"


# The same surface as a self-contained HTML page the reader can rotate and zoom (offline).
rule html3d:
    input:
        SURFACE,
    output:
        in_report(HTML3D, "html3d", "models", {"model": "{run}", "figure": "3-D, interactive"}),
    log:
        f"{LOGS}/html3d/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/html3d/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        style=html3d_arguments(),
    shell:
        "landscape html3d --surface {input} {params.style} --out {output} > {log} 2>&1"
