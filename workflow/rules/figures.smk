# Stage 5: figures (PDF and PNG): every configured 2-D kind and the 1-D curve per model, and
# the multi-model panels (the paper's Fig. 5 contours and Fig. 1 3-D pair).


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
        png=report(
            f"{RUN}/figures/{{model}}_1d.png",
            caption="../report/curve.rst",
            category="1-D curves",
            labels={"model": "{model}", "figure": "1d"},
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
        png=report(
            f"{RUN}/figures/{{panel}}.png",
            caption="../report/panel.rst",
            category="Panels",
            labels={"figure": "{panel}"},
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
