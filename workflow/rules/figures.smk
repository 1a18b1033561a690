# Stage 5: figures (PDF and PNG): every configured 2-D kind and the 1-D curve per model, the
# multi-model panels (the paper's Fig. 5 contours and Fig. 1 3-D pair) and the training
# curves. The PNGs go into the HTML report (common.smk, section figures).


rule plot_surface:
    input:
        SURFACE,
    output:
        surface_figures("pdf"),
        surface_figures("png"),
    log:
        f"{LOGS}/plot_surface/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_surface/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        kinds=" ".join(config["plot"]["kinds"]),
        style=plot_style(),
        prefix=f"{RUN}/figures/{{model}}",
    shell:
        "landscape plot --surface {input} --out-prefix {params.prefix} --kinds {params.kinds}"
        " {params.style} --formats pdf png > {log} 2>&1"


rule plot_curve:
    input:
        CURVE,
    output:
        pdf=f"{RUN}/figures/{{model}}_1d.pdf",
        png=in_report(
            f"{RUN}/figures/{{model}}_1d.png",
            "curve",
            "models",
            {"model": "{model}", "figure": "1d"},
        ),
    log:
        f"{LOGS}/plot_curve/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_curve/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        style=curve_style(),
        prefix=f"{RUN}/figures/{{model}}",
    shell:
        "landscape plot --surface {input} --out-prefix {params.prefix} --kinds 1d"
        " {params.style} --formats pdf png > {log} 2>&1"


rule panel:
    input:
        surfaces=panel_surfaces,
        metrics=panel_metrics,
    output:
        pdf=f"{RUN}/figures/{{panel}}.pdf",
        png=in_report(f"{RUN}/figures/{{panel}}.png", "panel", "paper", {"figure": "{panel}"}),
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
        all_metrics(),
    output:
        pdf=TRAINING_CURVES.replace("{ext}", "pdf"),
        png=in_report(
            TRAINING_CURVES.replace("{ext}", "png"),
            "training",
            "training",
            {"figure": "loss and error per epoch"},
        ),
    log:
        f"{LOGS}/training_curves.log",
    benchmark:
        f"{BENCHMARKS}/training_curves.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=model_names(),
        style=figure_arguments(),
        prefix=out_prefix,
    shell:
        "landscape training-curves --metrics {input} --models {params.models}"
        " --out-prefix {params.prefix} --formats pdf png {params.style} > {log} 2>&1"


# The README's front picture: this run's panel, copied into docs/img/. Not part of `all`; run
#   snakemake --cores 2 docs/img/smoke_fig5_panel.png --configfile presets/smoke.yaml
# (the target before --configfile, which takes every name after it for a config file)
rule front_picture:
    input:
        PANEL.replace("{ext}", "png"),
    output:
        f"docs/img/{config['run_name']}_{{panel}}.png",
    log:
        f"{LOGS}/front_picture/{{panel}}.log",
    threads: 1
    shell:
        "cp {input} {output} > {log} 2>&1"
